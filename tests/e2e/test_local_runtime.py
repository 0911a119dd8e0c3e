"""End to end over HTTP: the local runtime runs what the template defines, as AWS would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from infra.local.runtime import wait_for
from tests.conftest import minimal_referral
from tests.e2e.conftest import RunningSystem, start_system
from tests.e2e.stack import PROBE_DIRECT_SOURCE, PROBE_MAX_RECEIVE_COUNT, PROBE_SENDER, PROBE_SOURCE


def of_run(report: dict[str, Any], run: str) -> bool:
    return bool(report.get("detail", {}).get("run") == run)


def put_probe_events(system: RunningSystem, details: list[dict[str, Any]], source: str = PROBE_SOURCE) -> None:
    bus = next(iter(system.state["buses"].values()))
    response = system.client("events").put_events(
        Entries=[
            {"EventBusName": bus, "Source": source, "DetailType": "ProbeEvent", "Detail": json.dumps(d)}
            for d in details
        ]
    )
    assert response["FailedEntryCount"] == 0


def test_a_referral_submitted_to_the_gateway_is_stored_and_reaches_the_consumer(system: RunningSystem) -> None:
    response = system.post("/referrals", json=minimal_referral())

    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    assert response.headers["Location"] == f"/referrals/{reference}"
    [table] = system.state["tables"].values()
    stored = system.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"REFERRAL#{reference}"}, "sk": {"S": "REFERRAL"}}
    )
    assert stored["Item"]["status"]["S"] == "accepted"  # a lead practitioner's referral, with consent
    [report] = system.probe_saw(
        lambda r: r.get("detail_type") == "ReferralReceived" and r["detail"]["data"]["reference"] == reference
    )
    assert report["via"] == "queue"

    # The feedback function acknowledges it: the email is in the local outbox, as a person would read it.
    def acknowledged() -> list[dict[str, Any]]:
        return [m for m in system.get("/_local/outbox").json() if m["subject"] == f"Referral {reference} received"]

    [ack] = wait_for(acknowledged, timeout=20)
    assert ack["to"] == ["sam.okafor@council.example.org"]
    assert f"Referral {reference} received" in system.get("/_local/outbox.html").text


def test_a_form_post_reaches_the_function_as_an_http_api_event(system: RunningSystem) -> None:
    form = {
        "route": "lead_practitioner",
        "referrer.name": "Sam Okafor",
        "referrer.role": "Social worker",
        "referrer.organisation": "North Locality Team",
        "referrer.email": "not-an-email",
    }
    response = system.post("/referrals", data=form)

    assert response.status_code == 422  # validation errors, as the API answers them
    fields = {error["field"] for error in response.json()["errors"]}
    assert "referrer.email" in fields


def test_a_failing_message_is_retried_then_dead_lettered_while_the_rest_of_its_batch_succeeds(
    system: RunningSystem,
) -> None:
    run = uuid.uuid4().hex
    put_probe_events(system, [{"run": run, "n": 1}, {"run": run, "n": 2, "fail": True}, {"run": run, "n": 3}])

    attempts = system.probe_saw(lambda r: of_run(r, run) and r["detail"].get("fail"), count=PROBE_MAX_RECEIVE_COUNT)
    good = system.probe_saw(lambda r: of_run(r, run) and not r["detail"].get("fail"), count=2)
    assert sorted(r["detail"]["n"] for r in good) == [1, 3]  # each delivered once, never retried
    assert [r["receive_count"] for r in attempts] == list(range(1, PROBE_MAX_RECEIVE_COUNT + 1))
    # One batch held all three, partly failed (other tests' events may share it: at least three).
    assert all(r["batch_size"] >= 3 for r in attempts[:1] + good)
    dead: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        dead.extend(m for m in system.drain("ProbeConsumerDeadLetters") if m["detail"].get("run") == run)
        return bool(dead)

    wait_for(dead_lettered, timeout=20)
    assert [m["detail"]["n"] for m in dead] == [2]
    assert len([r for r in system.probe_saw(lambda r: of_run(r, run), count=4)]) == 4


def test_a_dead_lettered_message_is_reported_and_redriven_once_the_fault_is_fixed(
    system: RunningSystem, tmp_path: Path
) -> None:
    # Given a consumer that fails while a fault lasts
    run = uuid.uuid4().hex
    fault = tmp_path / "fault"
    fault.write_text("the probe fails while this file exists")
    dlq_url = system.queue_url("ProbeConsumerDeadLetters")
    dlq = dlq_url.rsplit("/", 1)[1]

    def reported() -> list[str]:
        return [line for line in system.stderr_path.read_text().splitlines() if f"dead-letter queue {dlq} " in line]

    earlier = len(reported())  # other tests dead-letter into this queue too
    put_probe_events(system, [{"run": run, "n": 1, "fail_while_exists": str(fault)}])
    system.probe_saw(lambda r: of_run(r, run), count=PROBE_MAX_RECEIVE_COUNT)

    # Then the runtime reports the dead letter as CloudWatch would alarm on it
    line = wait_for(lambda: reported()[earlier:], timeout=20)[-1]
    assert "the alarm Familynet-ProbeConsumer-DeadLetters-has-messages would fire" in line
    assert f"make redrive QUEUE={dlq}" in line

    # When the fault is fixed and the queue redriven (what `make redrive QUEUE=…` runs)
    sqs = system.client("sqs")

    def waiting() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    wait_for(waiting, timeout=20)
    fault.unlink()
    redriven = subprocess.run(
        [sys.executable, "-m", "infra.redrive", dlq, "--state", str(system.stderr_path.parent / "state.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then the message goes back to its queue and is delivered, once
    assert redriven.returncode == 0, redriven.stderr
    assert "moved back to" in redriven.stdout and "0 left" in redriven.stdout
    delivered = system.probe_saw(lambda r: of_run(r, run), count=PROBE_MAX_RECEIVE_COUNT + 1)
    assert delivered[-1]["receive_count"] == 1
    assert waiting() == 0


def test_redrive_refuses_a_name_it_cannot_find_and_has_nothing_to_do_for_an_empty_queue(system: RunningSystem) -> None:
    state = str(system.stderr_path.parent / "state.json")
    relay_dlq = system.queue_url("EventRelayDeadLetters").rsplit("/", 1)[1]
    for wanted, status, expected in ((relay_dlq, 0, "no messages to redrive"), ("NoSuchQueue", 1, "names 0 queues")):
        answered = subprocess.run(
            [sys.executable, "-m", "infra.redrive", wanted, "--state", state],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert answered.returncode == status and expected in answered.stdout + answered.stderr, answered.stderr


def test_a_rule_that_invokes_a_function_directly_retries_twice_then_dead_letters(system: RunningSystem) -> None:
    run = uuid.uuid4().hex
    put_probe_events(system, [{"run": run, "fail": True}, {"run": run}], source=PROBE_DIRECT_SOURCE)

    failed = system.probe_saw(lambda r: of_run(r, run) and r["detail"].get("fail"), count=3)
    assert {r["via"] for r in failed} == {"rule"}
    [succeeded] = system.probe_saw(lambda r: of_run(r, run) and not r["detail"].get("fail"))
    assert succeeded["via"] == "rule"
    dead: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        dead.extend(m for m in system.drain("ProbeDirectDeadLetters") if m["detail"].get("run") == run)
        return bool(dead)

    wait_for(dead_lettered, timeout=20)
    assert dead[0]["detail-type"] == "ProbeEvent"
    assert len(system.probe_saw(lambda r: of_run(r, run), count=4)) == 4  # 1 + 2 retries, and 1


def test_advancing_the_clock_fires_due_schedules_into_their_targets(system: RunningSystem) -> None:
    scheduler = system.client("scheduler")
    now = datetime.fromisoformat(system.get("/_local/clock").json()["now"])
    due = (now + timedelta(days=2)).astimezone(UTC).replace(microsecond=0, tzinfo=None)
    probe = next(name for name in system.state["functions"] if name.startswith("Probe"))
    one_off_name = f"one-off-{uuid.uuid4().hex[:8]}"
    scheduler.create_schedule(
        Name=one_off_name,
        ScheduleExpression=f"at({due.isoformat()})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": f"arn:aws:lambda:eu-west-2:123456789012:function:{probe}",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": json.dumps({"probe": "one-off", "due": due.isoformat()}),
        },
    )

    response = system.post("/_local/clock", json={"advance_days": 3})

    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["now"]) >= now + timedelta(days=3)
    [one_off] = system.probe_saw(lambda r: r["via"] == "schedule" and r["input"]["probe"] == "one-off")
    # The function ran with the clock at the occurrence, not at the end of the jump.
    ran_at = datetime.fromisoformat(one_off["now"])
    assert timedelta(0) <= ran_at - due.replace(tzinfo=UTC) < timedelta(hours=1)

    def after_start(report: dict[str, Any], probe: str) -> bool:
        return (
            report["via"] == "schedule"
            and report["input"].get("probe") == probe
            and datetime.fromisoformat(report["now"]) > now
        )

    daily = system.probe_saw(lambda r: after_start(r, "daily"), count=3)
    assert len(daily) == 3  # cron(0 9 * * ? *) Europe/London: once for each of the three days
    # 09:00 in London: 09:00 UTC in winter, 08:00 UTC in summer.
    assert {datetime.fromisoformat(r["now"]).astimezone(ZoneInfo("Europe/London")).hour for r in daily} == {9}
    # An EventBridge scheduled rule, rate(1 day), fires too: three times in three days, with its target's input.
    assert len(system.probe_saw(lambda r: after_start(r, "rule-daily"), 3)) == 3
    # ActionAfterCompletion DELETE: the one-off schedule is gone, the daily one stays.
    names = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
    assert one_off_name not in names
    assert any(n.startswith("ProbeDaily") for n in names)


def test_the_clock_refuses_a_request_it_cannot_act_on(system: RunningSystem) -> None:
    for body in ({}, {"advance_days": "two"}, {"advance_days": -1}, {"advance_days": True}):
        response = system.post("/_local/clock", json=body)
        assert response.status_code == 400
        assert "advance_days" in response.json()["message"]


def test_jwt_routes_take_a_local_token_and_pass_its_claims_on(system: RunningSystem) -> None:
    assert system.get("/probe/alex").status_code == 401
    assert system.get("/probe/alex", headers={"Authorization": "Bearer not.a.token"}).status_code == 401

    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    response = system.get("/probe/alex", params={"x": "1"}, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["route_key"] == "GET /probe/{name}"
    assert body["path_parameters"] == {"name": "alex"}
    assert body["query"] == {"x": "1"}
    assert body["claims"]["cognito:groups"] == "[coordinators]"
    # The function runs with its template environment, references resolved to local names.
    assert body["environment_table"] in system.state["tables"].values()


def test_staff_routes_take_a_coordinator_token_and_refuse_others(system: RunningSystem) -> None:
    school = {**minimal_referral(), "route": "professional_request", "reason": "Asked by the school nurse."}
    reference = system.post("/referrals", json=school).json()["reference"]
    assert system.get("/referrals").status_code == 401
    assert "/referrals/{reference}/meeting" in system.get("/_local/openapi.json").json()["paths"]
    outsider = system.get("/_local/token", params={"role": "none"}).json()["token"]
    assert system.get("/referrals", headers={"Authorization": f"Bearer {outsider}"}).status_code == 403
    # an ID token (no scope) is refused by the authorizer, a coordinator's though it is
    id_token = system.get("/_local/token", params={"role": "coordinator", "kind": "id"}).json()["token"]
    assert system.get("/referrals", headers={"Authorization": f"Bearer {id_token}"}).status_code == 403
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    queue = system.get("/referrals", params={"status": "received", "limit": "100"}, headers=auth)

    assert queue.status_code == 200, queue.text
    assert reference in [item["reference"] for item in queue.json()["items"]]
    accepted = system.post(f"/referrals/{reference}/accept", headers=auth)
    assert accepted.json()["status"] == "accepted"
    system.probe_saw(
        lambda r: r.get("detail_type") == "ReferralAccepted" and r["detail"]["data"]["reference"] == reference
    )


def test_the_outbox_shows_every_email_sent_newest_first(system: RunningSystem) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = PROBE_SENDER
    message["To"] = "referrer@school.example.org"
    message["Subject"] = "Referral FN-TESTTEST received"
    message.set_content("Thank you for your referral.")
    message.add_alternative("<p>Thank you for your referral.</p>", subtype="html")
    message.add_attachment(b"BEGIN:VCALENDAR", maintype="text", subtype="calendar", filename="meeting.ics")
    sesv2 = system.client("sesv2")
    sesv2.send_email(
        FromEmailAddress=PROBE_SENDER,
        Destination={"ToAddresses": ["referrer@school.example.org"]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )
    sesv2.send_email(
        FromEmailAddress=PROBE_SENDER,
        Destination={"ToAddresses": ["lead@council.example.org"]},
        Content={"Simple": {"Subject": {"Data": "Second"}, "Body": {"Text": {"Data": "Plain text"}}}},
    )

    outbox = system.get("/_local/outbox")

    assert outbox.status_code == 200
    ours = [m for m in outbox.json() if m["to"] in (["lead@council.example.org"], ["referrer@school.example.org"])]
    newest, previous = ours[:2]  # the feedback function may send other emails meanwhile
    assert newest["to"] == ["lead@council.example.org"]
    assert newest["subject"] == "Second"
    assert previous["to"] == ["referrer@school.example.org"]
    assert previous["subject"] == "Referral FN-TESTTEST received"
    assert previous["text"].strip() == "Thank you for your referral."
    assert previous["html"].strip() == "<p>Thank you for your referral.</p>"
    [attached] = previous["attachments"]
    assert (attached["filename"], attached["content_type"]) == ("meeting.ics", "text/calendar")
    assert attached["calendar"] is None  # not a calendar icalendar can read: shown by name only, never an error
    assert system.get(attached["download"]).content.startswith(b"BEGIN:VCALENDAR")
    page = system.get("/_local/outbox.html")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Referral FN-TESTTEST received" in page.text


def test_the_form_is_served_at_the_root_by_its_templates_route(system: RunningSystem) -> None:
    form = system.get("/")
    assert form.status_code == 200
    assert "Refer a family for a Family Network meeting</h1>" in form.text
    assert "script-src 'self'" in form.headers["Content-Security-Policy"]
    assert system.get("/assets/app.css").headers["Content-Type"].startswith("text/css")
    assert system.get("/assets/..%2Fpyproject.toml").status_code == 404
    assert system.get("/no-such-page").status_code == 404


@pytest.mark.parametrize("path", ["/_local/token?role=admin"])
def test_unknown_roles_get_no_token(system: RunningSystem, path: str) -> None:
    assert system.get(path).status_code == 400


def test_make_run_says_where_everything_is_and_stops_within_5_s_of_ctrl_c_while_its_functions_are_busy(
    template_body: dict[str, Any], tmp_path: Path
) -> None:
    template = tmp_path / "app.template.json"
    template.write_text(json.dumps(template_body))
    running = start_system(template, tmp_path)
    posting = threading.Event()

    def post() -> None:  # a client submitting referrals until the system stops answering
        n = 0
        while True:
            n += 1
            body = minimal_referral(reason=f"Ctrl-C test referral {uuid.uuid4()} ({n}).")
            try:
                requests.post(running.url + "/referrals", json=body, timeout=10)
            except requests.RequestException:
                return
            posting.set()

    clients = [threading.Thread(target=post, daemon=True) for _ in range(4)]
    try:
        assert running.ready_line.startswith(f"familynet is running at {running.url}")
        assert running.get("/").status_code == 200
        for client in clients:
            client.start()
        assert posting.wait(60)
        time.sleep(2)  # intake, the relay and the consumers all at work
    finally:
        interrupted = time.monotonic()
        running.process.send_signal(signal.SIGINT)
        code = running.process.wait(timeout=20)
    stopped_in = time.monotonic() - interrupted
    assert code == 0
    assert stopped_in < 5, f"stopped {stopped_in:.1f} s after Ctrl-C"
    assert running.process.stdout is not None
    rest = running.process.stdout.read().strip().splitlines()
    assert rest[-1] == "familynet stopped"
    # after the ready line: where the form, the console, the outbox and the clock are
    addresses = {word for line in rest[:-1] for word in line.split() if word.startswith("http")}
    assert {f"{running.url}{path}" for path in ("/", "/staff", "/_local/outbox.html", "/_local/clock")} <= addresses
    assert "Traceback" not in running.stderr_path.read_text()
