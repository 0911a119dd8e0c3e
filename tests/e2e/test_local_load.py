"""The regression guard of the local runtime at volume and under faults (issue 17): a burst of referrals from 8
clients, a fifth of them repeated, through `python -m infra.local` failing a share of every kind of AWS call, with
an EventBridge outage that dead-letters a batch of the relay's stream records (bench/reliability.py at a small size;
`make bench` runs it at 10,000; 150 referrals here took 87-241 s of `make test`, the slowest test by far).

Every referral is stored once and gets exactly one acknowledgement and one coordinators' notice (or, where SES
rejected the email, none and a `failed` record with the reason), even though the write after many sends is
throttled past the SDK's retries (before issue 17 that sent the email again); the relay's dead letter is redriven
from the outbox to the consumers; and the runtime's memory stays bounded (before moto's instance tracking and table
copies were fixed, 150 referrals took it to 3.8 GiB).

Lambda timeouts strike the relay, intake and scheduling only (a proposals batch short of time leaves its last records
for later rather than time out with them): a feedback batch that times out comes back after its queue's visibility
timeout (3 minutes), longer than this test should take; the bench times out every function."""

from __future__ import annotations

from pathlib import Path

from bench import reliability

POSTS = 100
# Half the attempts to record SES's answer throttled: about one write in 16 fails past the SDK's four attempts
# (some 9 of the ~150 emails' writes expected; the chance of none is about 1 in 10,000).
FAULTS = (
    "dynamodb.throttle=0.05,dynamodb.throttle:TransactWriteItems/Update/EMAIL=0.5,events.fail=0.05,ses.throttle=0.05,"
    "ses.reject=0.02,lambda.timeout:EventRelay=0.05,lambda.timeout:Intake=0.05,lambda.timeout:Scheduling=0.1"
)
MAX_RUNTIME_RSS_MIB = 400


def test_under_faults_every_referral_is_stored_once_and_acknowledged_once_and_the_relay_dead_letter_redriven(
    tmp_path: Path,
) -> None:
    figures = reliability.run(n=POSTS, clients=8, faults=FAULTS, workdir=tmp_path, ack_wait=240)
    reliability.report(figures)

    # Nothing lost, nothing stored twice
    assert figures["lost"] == [] and figures["duplicated"] == []
    assert figures["referrals"] == figures["submissions"] == figures["referrals_in_table"]
    # The write after a send failed past the SDK's retries, and still no email went twice
    assert figures["sdk_gave_up"]["dynamodb.throttle"].get("TransactWriteItems Update EMAIL", 0) >= 1
    for emails in (figures["acknowledgements"], figures["notices"]):
        assert emails["twice"] == [] and emails["missing"] == [] and emails["rejected_but_sent"] == []
        assert emails["once"] + emails["rejected_not_sent"] == figures["referrals"]
    assert figures["rejected_with_reason"] == figures["rejected"]
    assert figures["emails_unseen"] == 0  # the count read every email the outbox was given
    # The outage's dead letter came back through make redrive, and every DLQ is empty
    assert figures["outage"]["letters"] >= 1 and figures["outage"]["reasons"] == {
        "RetryAttemptsExhausted": figures["outage"]["letters"]
    }
    assert "put on the bus again; 0 left" in figures["redrive"]
    assert set(figures["dead_letters_at_end"].values()) == {0}
    runtime_rss_at_end, _workers = figures["rss"]["end"]
    assert runtime_rss_at_end < MAX_RUNTIME_RSS_MIB
