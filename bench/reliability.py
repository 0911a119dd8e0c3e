"""Reliability under faults: N referrals from 8 clients through a `python -m infra.local` that fails a share of
every kind of AWS call, with an outage of EventBridge in the middle that dead-letters the relay's stream records,
redriven once it is over (`make redrive`, as the runbook says).

Each client posts as bench/load.py does (20% re-sent with the same Idempotency-Key, 5% the same body with none) and
sends a post again, same body and key, when it is answered 5xx or not at all. Then it checks, and prints:
- 0 lost: every submission has its reference, and the table holds exactly one referral per submission (0 duplicated);
- exactly one acknowledgement and one coordinators' notice per referral in the outbox, unless SES rejected that email
  (an injected MessageRejected), in which case none was sent and its email item says `failed` with the reason;
- every dead letter accounted for: the relay's (the outage) carry their reason and are redriven to the consumers;
  every dead-letter queue is empty at the end, or its messages are listed;
- throughput, p50/p95 of `POST /referrals`, submission → acknowledgement, the runtime's RSS at the start, the middle
  (5,000 of 10,000) and the end, and the faults injected by kind (what each hit).

BENCH_RELIABILITY_REFERRALS (10,000) sets N; BENCH_RELIABILITY_FAULTS the faults (5% of each kind);
BENCH_RELIABILITY_OUTAGE=0 leaves out the outage; BENCH_ACK_WAIT (900 s) how long the end waits for the last emails
(a feedback batch that timed out comes back after its queue's visibility timeout, 3 minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import requests

from bench import load
from shared.adapters import table
from shared.domain.referrals import ReferralStatus

N = max(1, int(os.environ.get("BENCH_RELIABILITY_REFERRALS", "10000")))
FAULTS = os.environ.get(
    "BENCH_RELIABILITY_FAULTS",
    "dynamodb.throttle=0.05,events.fail=0.05,ses.throttle=0.05,ses.reject=0.05,lambda.timeout=0.05",
)
ACK_WAIT_SECONDS = float(os.environ.get("BENCH_ACK_WAIT", "900"))
OUTAGE = os.environ.get("BENCH_RELIABILITY_OUTAGE", "1") != "0"  # 0: no EventBridge outage (the smoke run)
OUTAGE_AT = 0.4  # EventBridge refuses everything once this share of the posts is done, until a relay dead letter
RETRIES = 5  # a client sends a post again this many times when it is answered 5xx
ROOT = Path(__file__).resolve().parent.parent
MISSING_SHOWN = 10  # referrals still unacknowledged at the end, described item by item


class System:
    """The started runtime's local routes and its moto, for the checks."""

    def __init__(self, runtime: load.Runtime) -> None:
        self.url = runtime.url
        self.state = json.loads((runtime.workdir / "state.json").read_text())
        self.state_path = runtime.workdir / "state.json"
        self.session = requests.Session()

    @property
    def table_name(self) -> str:
        [name] = self.state["tables"].values()
        return str(name)

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.state["aws_endpoint_url"],
            region_name=self.state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def faults(self, spec: str | None = None) -> dict[str, Any]:
        if spec is None:
            answer = self.session.get(f"{self.url}/_local/faults", timeout=30)
        else:
            answer = self.session.post(f"{self.url}/_local/faults", json={"spec": spec}, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    def queue(self, fragment: str) -> str:
        [url] = [url for logical_id, url in self.state["queues"].items() if fragment in logical_id]
        return str(url)

    def dead_letter_queues(self) -> dict[str, str]:
        return {k: v for k, v in self.state["queues"].items() if "DeadLetters" in k}

    def waiting(self, url: str) -> int:
        """Messages in a queue, visible or in flight."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def referrals_in_table(self) -> int:
        """Referrals the table holds, counted state by state in the coordinators' index (every referral carries
        its state there, erased ones too): a Scan of the whole table re-walks every item for each page in moto,
        minutes at 10,000. Not one read: asked when nothing moves a referral on (acceptance is part of intake)."""
        total = 0
        pages = self.client("dynamodb").get_paginator("query")
        for status in ReferralStatus:
            for page in pages.paginate(
                TableName=self.table_name,
                IndexName=table.STATUS_INDEX,
                KeyConditionExpression="#status_key = :status",
                ExpressionAttributeNames={"#status_key": table.STATUS_INDEX_PK},
                ExpressionAttributeValues={":status": {"S": status.value}},
                Select="COUNT",
            ):
                total += int(page["Count"])
        return total

    def failed_emails(self, reference: str) -> list[dict[str, Any]]:
        items = self.client("dynamodb").query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :email)",
            ExpressionAttributeValues={":pk": {"S": f"REFERRAL#{reference}"}, ":email": {"S": "EMAIL#"}},
        )["Items"]
        return [
            {"template": i["template"]["S"], "failure": i.get("failure", {}).get("S", "")}
            for i in items
            if i.get("status", {}).get("S") == "failed"
        ]

    def whereabouts(self, reference: str) -> str:
        """Where a referral without its emails stands: its items by kind (an email with its template and status),
        and its outbox events, so that a missing email can be told apart from one still on its way."""
        pages = (
            self.client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"REFERRAL#{reference}"}},
            )
        )
        kinds: Counter[str] = Counter()
        for item in (i for page in pages for i in page["Items"]):
            kind = item.get("kind", {}).get("S", "?")
            if kind == "email":
                kind = f"email {item.get('template', {}).get('S')} {item.get('status', {}).get('S')}"
            elif kind == "outbox_event":
                kind = f"outbox {item.get('detail_type', {}).get('S')}"
            kinds[kind] += 1
        return f"{reference}: " + ", ".join(f"{kind} x{n}" for kind, n in sorted(kinds.items()))

    def redrive(self, queue_url: str) -> str:
        done = subprocess.run(  # our own command, as `make redrive QUEUE=…` runs it
            [sys.executable, "-m", "infra.redrive", queue_url.rsplit("/", 1)[1], "--state", str(self.state_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"make redrive failed: {done.stderr.strip()}")
        return done.stdout.strip()


def outage(system: System, spec: str, relay_dlq: str, timeout: float = 120) -> dict[str, Any]:
    """EventBridge refuses every entry until the relay has dead-lettered a batch; then the faults as they were."""
    kept = ",".join(rule for rule in spec.split(",") if rule.strip() and not rule.strip().startswith("events.fail"))
    started = time.monotonic()
    system.faults(",".join(filter(None, [kept, "events.fail=1"])))
    try:
        while system.waiting(relay_dlq) == 0 and time.monotonic() - started < timeout:
            time.sleep(0.5)
    finally:
        system.faults(spec)
    letters = system.waiting(relay_dlq)
    reasons: Counter[str] = Counter()
    sqs = system.client("sqs")
    for message in sqs.receive_message(QueueUrl=relay_dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    ):
        letter = json.loads(message["Body"])
        reasons[str(letter.get("requestContext", {}).get("condition"))] += 1
    return {"seconds": time.monotonic() - started, "letters": letters, "reasons": dict(reasons)}


def run(  # noqa: PLR0915 - one story, told in order
    n: int = N,
    *,
    clients: int = load.CLIENTS,
    faults: str = FAULTS,
    workdir: Path | None = None,
    ack_wait: float = ACK_WAIT_SECONDS,
    with_outage: bool = True,
) -> dict[str, Any]:
    workdir = workdir or Path(f"/tmp/familynet-reliability-{os.getpid()}")
    runtime = load.Runtime.start(load.template(), workdir, faults)
    try:
        system = System(runtime)
        rss = {"start": runtime.rss_mib()}
        plan = load.planned(n)
        posts = load.Load(runtime.url, plan, retries=RETRIES)
        watch = load.Watch(runtime.url)
        watcher = threading.Thread(target=watch.run, daemon=True)
        watcher.start()
        relay_dlq, feedback_queue = system.queue("EventRelayDeadLetters"), system.queue("FeedbackOnEventsQueue")
        threads = [threading.Thread(target=posts.client, daemon=True) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        broke: dict[str, Any] = {}
        tenth = max(1, n // 10)
        told = 0
        while any(t.is_alive() for t in threads):
            done = len(posts.latencies)
            if done >= told + tenth:  # progress as it goes: a run of an hour should not tell nothing until the end
                told = done - done % tenth
                own, workers = runtime.rss_mib()
                seconds = time.perf_counter() - started
                print(
                    f"  posted {done} of {n} in {seconds:.0f} s ({done / seconds:.1f}/s); runtime RSS {own:.0f} MiB "
                    f"+ workers {workers:.0f} MiB",
                    flush=True,
                )
            if "middle" not in rss and done >= n // 2:
                rss["middle"] = runtime.rss_mib()
            if with_outage and not broke and done >= n * OUTAGE_AT:
                broke = outage(system, faults, relay_dlq)
            time.sleep(0.2)
        posted_in = time.perf_counter() - started
        rss.setdefault("middle", runtime.rss_mib())
        if with_outage and not broke:
            broke = outage(system, faults, relay_dlq)
        redriven = system.redrive(relay_dlq)
        submissions = {number for kind, number in plan if kind == "new"}
        references = set(posts.first_sent)
        rejected = {(r["reference"], r.get("template")) for r in system.faults()["rejected_emails"]}

        def settled() -> bool:
            rejected.update((r["reference"], r.get("template")) for r in system.faults()["rejected_emails"])
            acked = all(r in watch.acks or (r, "acknowledgement") in rejected for r in references)
            noticed = all(watch.notices[r] or (r, "new_referral") in rejected for r in references)
            return acked and noticed and system.waiting(feedback_queue) == 0

        deadline = time.monotonic() + ack_wait
        while time.monotonic() < deadline and not settled():
            time.sleep(1)
        settled_in = time.perf_counter() - started
        unsent = sorted(r for r in references if r not in watch.acks and (r, "acknowledgement") not in rejected)
        whereabouts = [system.whereabouts(r) for r in unsent[:MISSING_SHOWN]]
        time.sleep(2)  # a last look: anything sent twice would be in the outbox by now
        watch.stop.set()
        watcher.join(timeout=30)
        rss["end"] = runtime.rss_mib()
        described = system.faults()
        rejected = {(r["reference"], r.get("template")) for r in described["rejected_emails"]}
        reasons_of_rejected = {
            (reference, failed["template"]): failed["failure"]
            for reference in {r for r, _ in rejected}
            for failed in system.failed_emails(reference)
        }
        dead_letters = {name: system.waiting(url) for name, url in system.dead_letter_queues().items()}
        in_table = system.referrals_in_table()
    finally:
        stop_seconds, stopped_output = runtime.stop()

    def emails_of(counts: dict[str, int], template: str) -> dict[str, Any]:
        once = sum(1 for r in references if counts.get(r, 0) == 1 and (r, template) not in rejected)
        rejected_unsent = sum(1 for r in references if (r, template) in rejected and counts.get(r, 0) == 0)
        return {
            "once": once,
            "rejected_not_sent": rejected_unsent,
            "twice": sorted(r for r in references if counts.get(r, 0) > 1),
            "missing": sorted(r for r in references if counts.get(r, 0) == 0 and (r, template) not in rejected),
            "rejected_but_sent": sorted(r for r in references if (r, template) in rejected and counts.get(r, 0)),
        }

    ack_counts = {r: len(times) for r, times in watch.acks.items()}
    ack_latency = [watch.acks[r][0] - posts.first_sent[r] for r in references if watch.acks.get(r)]
    return {
        "posts": n,
        "clients": clients,
        "faults": faults,
        "submissions": len(submissions),
        "referrals": len(references),
        "referrals_in_table": in_table,
        "lost": sorted(number for number in submissions if not posts.references_of.get(number)),
        "duplicated": sorted(number for number, refs in posts.references_of.items() if len(refs) > 1),
        "statuses": dict(posts.statuses),
        "retried_posts": posts.retried,
        "posted_seconds": posted_in,
        "settled_seconds": settled_in,
        "throughput": n / posted_in,
        "post_p50": load.percentile(posts.latencies, 0.5),
        "post_p95": load.percentile(posts.latencies, 0.95),
        "ack_p50": load.percentile(ack_latency, 0.5),
        "ack_p95": load.percentile(ack_latency, 0.95),
        "acknowledgements": emails_of(ack_counts, "acknowledgement"),
        "notices": emails_of(dict(watch.notices), "new_referral"),
        "rejected_with_reason": sum(1 for key in rejected if reasons_of_rejected.get(key) == "MessageRejected"),
        "rejected": len(rejected),
        "outage": broke,
        "redrive": redriven,
        "dead_letters_at_end": dead_letters,
        "injected": described["injected"],
        "sdk_gave_up": described["sdk_gave_up"],
        "seen": described["seen"],
        "rss": rss,
        "stop_seconds": stop_seconds,
        "whereabouts": whereabouts,
        "emails_unseen": watch.unseen,
        "stopped_output": stopped_output,
    }


def report(figures: dict[str, Any]) -> None:
    acks, notices, rss = figures["acknowledgements"], figures["notices"], figures["rss"]
    print(
        f"reliability: {figures['posts']} POST /referrals from {figures['clients']} clients, faults {figures['faults']}"
    )
    print(
        f"  submissions {figures['submissions']}, referrals {figures['referrals']} (in the table "
        f"{figures['referrals_in_table']}); lost {len(figures['lost'])}, duplicated {len(figures['duplicated'])}; "
        f"answers {figures['statuses']} ({figures['retried_posts']} posts sent again after a 5xx)"
    )
    print(
        f"  throughput {figures['throughput']:.1f} posts/s over {figures['posted_seconds']:.1f} s; every email out "
        f"after {figures['settled_seconds']:.0f} s"
    )
    print(f"  POST /referrals p50 {figures['post_p50'] * 1000:.0f} ms, p95 {figures['post_p95'] * 1000:.0f} ms")
    print(f"  submission -> acknowledgement p50 {figures['ack_p50']:.2f} s, p95 {figures['ack_p95']:.2f} s")
    for name, emails in (("acknowledgement", acks), ("coordinators' notice", notices)):
        print(
            f"  {name}: once {emails['once']}, rejected by SES and not sent {emails['rejected_not_sent']}, "
            f"twice {len(emails['twice'])}, missing {len(emails['missing'])}, "
            f"rejected yet sent {len(emails['rejected_but_sent'])}"
        )
    print(
        f"  emails SES rejected {figures['rejected']}; each failed, with its reason: "
        f"{figures['rejected_with_reason']}; sent but never shown to this count (trimmed from the outbox first): "
        f"{figures['emails_unseen']}"
    )
    outage = figures["outage"]
    print(
        f"  EventBridge outage {outage.get('seconds', 0):.0f} s: {outage.get('letters', 0)} relay dead letter(s) "
        f"{outage.get('reasons', {})}; {figures['redrive']}"
    )
    print(f"  dead-letter queues at the end: {figures['dead_letters_at_end']}")
    for line in figures["whereabouts"]:  # referrals still without their acknowledgement when the wait ended
        print(f"  unacknowledged {line}")
    print(
        "  runtime RSS (MiB, runtime + workers): "
        + ", ".join(f"{when} {own:.0f} + {workers:.0f}" for when, (own, workers) in rss.items())
    )
    for line in figures["stopped_output"].splitlines():
        if line.startswith("faults"):
            print(f"  {line}")
    print(f"  stopped in {figures['stop_seconds']:.1f} s")


if __name__ == "__main__":
    report(run(with_outage=OUTAGE))
