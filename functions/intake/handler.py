"""The public front door: the referral form (`GET /`, `GET /assets/{file}`, `GET /privacy`, `GET /accessibility`)
and `POST /referrals`.

`POST /referrals` validates a referral, stores it exactly once and announces it (through the outbox). A browser
posting the form gets HTML (the confirmation, or the form again with its errors); every other client gets JSON.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.intake import submissions
from shared.adapters.dynamodb import ReferralStore
from shared.observability import correlate, logger, metrics
from shared.web import referral_form
from shared.web.errors import unexpected
from shared.web.http import as_response, file_response, html_response, json_response, wants_html
from shared.web.routes import check_served, methods_at, register

ASSET_MAX_AGE_SECONDS = 3600
app = APIGatewayHttpResolver()


def handler(event: dict[str, Any], context: LambdaContext, store: ReferralStore | None = None) -> dict[str, Any]:
    app.append_context(store=store)
    if str(event.get("routeKey", "")).startswith("GET /assets/"):
        return app.resolve(event, context)  # static files: no log line and no metric each (cached for an hour)
    response: dict[str, Any] = _handle(event, context)
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlate(logger.get_correlation_id() or context.aws_request_id)
    return app.resolve(event, context)


@register(app, "GET /")
def form() -> Response[str]:
    metrics.add_metric(name="FormsShown", unit=MetricUnit.Count, value=1)
    return as_response(html_response(200, referral_form.render_form({}, [], referral_form.new_token())))


@register(app, "GET /privacy")
@register(app, "GET /accessibility")
def page() -> Response[str]:
    metrics.add_metric(name="PagesShown", unit=MetricUnit.Count, value=1)
    return as_response(html_response(200, referral_form.render_page(app.current_event.raw_event["routeKey"])))


@register(app, "POST /referrals")
def post_referral() -> Response[str]:
    event = app.current_event.raw_event
    store = app.context.get("store")
    return as_response(
        submissions.post_form(event, store) if wants_html(event) else submissions.post_json(event, store)
    )


@register(app, "GET /assets/{file}")
def asset(file: str) -> Response[str]:
    found = referral_form.asset((app.current_event.path_parameters or {}).get("file", ""))
    if found is None:
        return _page_not_found()
    return as_response(file_response(*found, max_age=ASSET_MAX_AGE_SECONDS))


@app.exception_handler(Exception)
def _bug(error: Exception) -> Response[str]:
    status, body, _ = unexpected(error)
    if wants_html(app.current_event.raw_event):
        return as_response(
            html_response(status, referral_form.render_problem("Sorry, there is a problem", body["message"]))
        )
    return as_response(json_response(status, body))


@app.not_found
def _unmatched(_: Exception) -> Response[str]:
    """What API Gateway's `$default` route brings: a method the path does not take (405, with the methods it
    does in Allow; OPTIONS is answered with them), or a path with no routes (404)."""
    event = app.current_event
    allowed = methods_at(event.path)
    if not allowed or event.http_method in allowed:
        return _page_not_found()
    allow = {"Allow": ", ".join(allowed)}
    if event.http_method == "OPTIONS":
        return Response(status_code=204, body="", headers={**json_response(204, None)["headers"], **allow})
    message = f"{event.path} takes {' or '.join(allowed)}, not {event.http_method}"
    return as_response(json_response(405, {"message": message}, allow))


def _page_not_found() -> Response[str]:
    return as_response(html_response(404, referral_form.render_problem("Page not found", "There is no such page.")))


check_served("intake")
