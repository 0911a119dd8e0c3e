"""The console function: the coordinators' and managers' screens under /staff (sign_in.py: the managed login and the
session; cases.py: the work list, case pages and decisions), on the same service layer as the JSON API.

Every page checks the session cookie (none: to the sign-in, and back after); every form its session's CSRF token
and this site's Origin (without them: 403, and nothing changes). Every refusal is a page in words, never a trace.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.console import (
    agreement,
    approvals,
    cases,
    connections,
    directory,
    meetings,
    outcomes,
    participants,
    plan_links,
    preparation,
    privacy,
    reports,
    reviews,
    sign_in,
)
from functions.console.common import FormRefused, SignInNeeded, sign_in_location
from shared.observability import correlate, logger, metrics
from shared.service.staff_sessions import NoAccess, SignInProblem
from shared.web.console import page, redirect
from shared.web.errors import api_problem, unexpected
from shared.web.http import as_response
from shared.web.routes import check_served

CONSOLE = "console"
TITLES = {
    400: "Sorry, this could not be read",
    403: "You cannot do this",
    404: "Page not found",
    503: "Sorry, the service is busy",
}

app = APIGatewayHttpResolver()
for router in (
    sign_in.router,
    cases.router,
    meetings.router,
    outcomes.router,
    reviews.router,
    participants.router,
    preparation.router,
    directory.router,
    connections.router,
    agreement.router,
    plan_links.router,
    privacy.router,
    reports.router,
    approvals.router,
):
    app.include_router(router)
check_served(CONSOLE)


@app.exception_handler(Exception)
def _refused(error: Exception) -> Response[str]:
    if isinstance(error, SignInNeeded):
        return as_response(redirect(sign_in_location(error.return_to)))
    if isinstance(error, FormRefused):
        logger.info("Console form refused", extra={"why": str(error)})
        metrics.add_metric(name="ConsoleFormsRefused", unit=MetricUnit.Count, value=1)
        return _page(
            403, "This form has expired or did not come from this service. Go back, reload the page and try again."
        )
    if isinstance(error, NoAccess):
        logger.info("Console refused: not in a staff group")
        return _page(403, error.message, link={"href": "/staff/sign-in", "text": "Sign in with another account"})
    if isinstance(error, SignInProblem):
        return _page(400, error.message, link={"href": "/staff/sign-in", "text": "Sign in"})
    problem = api_problem(error)
    if problem is None:
        status, body, _ = unexpected(error)
        return _page(status, body["message"], title="Sorry, there is a problem with the service")
    status, body, headers = problem
    if status >= 500:
        logger.exception("Console request failed", extra={"error_kind": type(error).__name__})
    return _page(status, body["message"], headers=headers)


@app.not_found
def _unmatched(_: Exception) -> Response[str]:
    return _page(404, "There is no such page.", link={"href": "/staff", "text": "Go to the work list"})


def _page(
    status: int, message: str, *, title: str | None = None, headers: dict[str, str] | None = None, **values: Any
) -> Response[str]:
    answer = page(
        status, "message.html", session=None, title=title or TITLES.get(status, "Sorry"), message=message, **values
    )
    answer["headers"].update(headers or {})
    return as_response(answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlate(logger.get_correlation_id() or context.aws_request_id)
    metrics.add_metric(name="ConsoleRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
