"""The connections function: the public pages behind signed links, opened without login (each link made for one
purpose: shared/domain/links.py).

- partners.py: a community partner's answer to a connection (`/connections/{token}`);
- agreements.py: the lead practitioner's agreement to the family's plan (`/agreements/{token}`);
- plans.py: the plan's page and its PDF, one link per person the plan is for (`/plans/{token}`);
- evaluations.py: a family respondent's evaluation of their meeting (`/evaluations/{token}`).

A link that is not valid, has expired, was used or replaced answers a page saying so, and shows or changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.connections import agreements, evaluations, partners, plans
from shared.observability import correlate, logger, metrics
from shared.web import partner_page
from shared.web.errors import unexpected
from shared.web.http import as_response
from shared.web.routes import check_served

app = APIGatewayHttpResolver()
for router in (partners.router, agreements.router, plans.router, evaluations.router):
    app.include_router(router)
check_served("connections")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlate(logger.get_correlation_id() or context.aws_request_id)
    return app.resolve(event, context)


@app.exception_handler(Exception)
def _bug(error: Exception) -> Response[str]:
    status, body, _ = unexpected(error)
    return as_response(partner_page.page(status, "problem", partner_page.UNAVAILABLE, body["message"]))


@app.not_found
def _unmatched(_: Exception) -> Response[str]:
    # API Gateway routed it here, but the token has characters the resolver's path pattern refuses: an invalid link,
    # answered by the page of the link's purpose (its route, as API Gateway matched it)
    event = app.current_event.raw_event
    posting = app.current_event.http_method == "POST"
    if "/agreements/" in str(event.get("routeKey", "")):
        return agreements.link_page(event, posting=posting)
    if "/plans/" in str(event.get("routeKey", "")):
        return plans.link_page(event, document=str(event.get("routeKey", "")).endswith("/document"))
    if "/evaluations/" in str(event.get("routeKey", "")):
        return evaluations.link_page(event, posting=posting)
    return partners.link_page(event, posting=posting)
