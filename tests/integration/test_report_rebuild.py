"""Rebuilding a period's figures from the reports' log (issue 19, item 7), against moto: wrong figures are replaced
by what the logged events say, events counted while the rebuild runs are in the result exactly once, running it
again changes nothing, and what the log cannot rebuild is refused with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra import rebuild_reports
from infra.constants import REPORTS
from shared.adapters.dynamodb import ReferralReader, to_item
from shared.config import Settings
from shared.domain import clock
from shared.service import report_rebuild, reports
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_intake import relay_outbox
from tests.integration.test_proposals import sqs_batch


def received(cloud: Cloud, submit: Any, body: dict[str, Any], *postcodes: str) -> list[dict[str, Any]]:
    """Referrals from these postcodes, their ReferralReceived events as the bus delivers them."""
    capture = cloud.capture_events()
    for i, postcode in enumerate(postcodes):
        family = {**body["family"], "postcode": postcode}
        assert submit({**body, "family": family, "reason": f"Reason {postcode} {i}"})["statusCode"] == 201
    relay_outbox(cloud)
    return [e for e in capture.received() if e["detail-type"] == "ReferralReceived"]


def count(cloud: Cloud, events: list[dict[str, Any]]) -> None:
    assert invoke(REPORTS, cloud, sqs_batch(events)) == {"batchItemFailures": []}


def add_wrongly(cloud: Cloud, month: str, name: str, amount: int) -> None:
    """A figure the counting got wrong (as a bug, since fixed, would have left it)."""
    cloud.client("dynamodb").update_item(
        TableName=cloud.table_name,
        Key=to_item({"pk": f"REPORT#{month}", "sk": f"FIGURE#{name}"}),
        UpdateExpression="ADD #v :n",
        ExpressionAttributeNames={"#v": "value"},
        ExpressionAttributeValues=to_item({":n": amount}),
    )


def test_a_rebuild_replaces_wrong_figures_with_the_logged_events_while_events_keep_coming(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(table_name=cloud.table_name)
    reader = ReferralReader(cloud.table_name)
    month = reports.month_of(datetime.now(UTC).astimezone(clock.LONDON).date())
    first = received(cloud, submit, referral_body, "LS6 1AA", "LS6 2BB")
    count(cloud, first)
    add_wrongly(cloud, month, "referrals", 5)
    add_wrongly(cloud, month, "locality#XX1", 1)
    assert reports.report(month, reader=reader).get("referrals") == 7

    # The log names no case: the event's data without its reference, the district it was counted under
    logged = reader.partition_of(reports.log_pk(month))
    assert len(logged) == 2 and {item["facts"]["locality"] for item in logged} == {"LS6"}
    assert not [item for item in logged if "FN-" in json.dumps(item, default=str)]

    # When a rebuild begins, and while it runs a referral arrives and an old event is delivered again
    rebuild = report_rebuild.begin(month, reader=reader, settings=settings, now=clock.now())
    with pytest.raises(report_rebuild.RebuildRefused, match="has not finished"):
        report_rebuild.begin(month, reader=reader, settings=settings, now=clock.now())
    during = received(cloud, submit, referral_body, "M1 1AE")
    count(cloud, during + first[:1])
    assert reports.report(month, reader=reader).get("referrals") == 8  # readers still see the current figures
    report_rebuild.recount(rebuild, reader=reader, settings=settings, now=clock.now())
    report_rebuild.finish(rebuild, reader=reader, settings=settings, now=clock.now())

    # Then the figures are what the events say, each counted once, the wrong ones gone
    figures = reports.report(month, reader=reader)
    assert figures.get("referrals") == 3
    assert figures.by("locality#") == {"LS6": 2, "M1": 1}
    assert figures.by("route#") == {"lead_practitioner": 3}
    assert rebuild.events_read == 3 and rebuild.events_added == 1  # the consumer added the others meanwhile
    assert ("referrals", 7, 3) in rebuild.changes() and ("locality#XX1", 1, 0) in rebuild.changes()

    # And the consumer now counts into the rebuilt figures, once
    later = received(cloud, submit, referral_body, "M1 2AE")
    count(cloud, later + later)
    assert reports.report(month, reader=reader).get("referrals") == 4

    # And the command, run twice more, finds nothing to change; the figures two rebuilds back are deleted
    assert rebuild_reports.main([month, "--aws", "--table", cloud.table_name, "--dry-run"]) == 0
    assert "no figure changed" in capsys.readouterr().out
    assert rebuild_reports.main([month, "--aws", "--table", cloud.table_name]) == 0
    assert rebuild_reports.main([month, "--aws", "--table", cloud.table_name]) == 0
    printed = capsys.readouterr().out
    assert printed.count("no figure changed") == 2 and "4 logged events read" in printed
    assert reports.report(month, reader=reader).get("referrals") == 4
    first_generation = reader.partition_of(reports.figures_pk(month, ""))
    assert [item["sk"] for item in first_generation] == [reports.POINTER]


def test_what_the_log_cannot_rebuild_is_refused_and_nothing_changes(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(table_name=cloud.table_name)
    reader = ReferralReader(cloud.table_name)
    today = datetime.now(UTC).astimezone(clock.LONDON).date()
    # a month counted before the reports' log began: figures, no pointer, no log
    add_wrongly(cloud, "2026-01", "referrals", 40)
    with pytest.raises(report_rebuild.RebuildRefused, match="before the reports' log began"):
        report_rebuild.begin("2026-01", reader=reader, settings=settings, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert reports.report("2026-01", reader=reader).get("referrals") == 40
    far = today + timedelta(days=70)
    with pytest.raises(report_rebuild.RebuildRefused, match="has not begun"):
        report_rebuild.recompute(reports.month_of(far), reader=reader, now=clock.now())
    assert rebuild_reports.main(["2019-Q1", "--aws", "--table", cloud.table_name]) == 1
    assert "keeps events 400 days" in capsys.readouterr().err
    assert rebuild_reports.main(["last month", "--aws", "--table", cloud.table_name]) == 2
    assert "Choose a month" in capsys.readouterr().err
