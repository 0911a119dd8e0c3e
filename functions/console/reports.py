"""The managers' report (issue 19, item 7): a month's or a quarter's figures, as a page and as a CSV download, read
from the aggregate items the reports function keeps (one Query a month; shared/service/reports.py)."""

from __future__ import annotations

from datetime import date

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.common import reader, signed_in
from functions.console.privacy import managers_only
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.errors import Unreadable
from shared.observability import metrics
from shared.service import reports
from shared.web.console import CONSOLE_HEADERS, page
from shared.web.http import as_response, html_response
from shared.web.routes import register

router = Router()
MONTHS_OFFERED = 12
QUARTERS_OFFERED = 4
MANAGERS_ONLY = "Only managers can see the service's figures. Ask a manager if you need them."


def _period() -> str:
    """The period asked for (checked before the session: a wrong one is the same answer to anyone), else this
    month in England."""
    params = router.current_event.query_string_parameters or {}
    asked = params.get("period")
    if asked is None:
        return reports.month_of(clock.now().astimezone(LONDON).date())
    try:
        reports.months(asked)
    except ValueError as problem:
        raise Unreadable(str(problem)) from None
    return asked


def choices(today: date) -> list[tuple[str, str]]:
    """(period, words) for the last 12 months and the last 4 quarters, newest first."""
    offered: list[tuple[str, str]] = []
    year, month = today.year, today.month
    for _ in range(MONTHS_OFFERED):
        offered.append((f"{year}-{month:02d}", date(year, month, 1).strftime("%B %Y")))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _ in range(QUARTERS_OFFERED):
        offered.append((f"{year}-Q{quarter}", f"Quarter {quarter} of {year}"))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return offered


@register(router, "GET /staff/reports")
def report_page() -> Response[str]:
    period = _period()
    session = managers_only(signed_in(router), MANAGERS_ONLY)
    report = reports.report(period, reader=reader())
    metrics.add_metric(name="ReportsShown", unit=MetricUnit.Count, value=1)
    sections: dict[str, list[tuple[str, str]]] = {}
    for section, measure, value in report.rows():
        sections.setdefault(section, []).append((measure, value))
    offered = choices(clock.now().astimezone(LONDON).date())
    words = dict(offered).get(period, period)
    return as_response(
        page(
            200,
            "reports.html",
            session=session,
            title=f"Figures for {words}",
            section="reports",
            period=period,
            period_items=[{"value": value, "text": text, "selected": value == period} for value, text in offered],
            sections=sections,
        )
    )


@register(router, "GET /staff/reports/download")
def report_download() -> Response[str]:
    period = _period()
    managers_only(signed_in(router), MANAGERS_ONLY)
    report = reports.report(period, reader=reader())
    metrics.add_metric(name="ReportsDownloaded", unit=MetricUnit.Count, value=1)
    headers = {
        **CONSOLE_HEADERS,
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="familynet-figures-{period}.csv"',
    }
    return as_response(html_response(200, report.csv(), headers))
