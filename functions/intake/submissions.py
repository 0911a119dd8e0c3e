"""`POST /referrals`: a referral from an API client (JSON, or form data without `Accept: text/html`) answered in
JSON, or from a browser's form answered as a page; refusals and failures logged and counted, never a value."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.dynamodb import ReferralStore
from shared.config import get_settings
from shared.domain.errors import FamilynetError
from shared.domain.referrals import SubmissionOutcome
from shared.observability import logger, metrics
from shared.service.intake import (
    IdempotencyKeyReused,
    IntakeRequest,
    outcome_body,
    submit_referral,
    validate_submission,
)
from shared.web import referral_form
from shared.web.errors import BUSY, RETRY_AFTER, api_problem
from shared.web.http import HttpError, html_response, json_response, parse_body
from shared.web.intake import read_request, source_ip


def post_json(event: dict[str, Any], store: ReferralStore | None) -> dict[str, Any]:
    try:
        request = read_request(event)
        outcome = _submit(request, store)
    except (HttpError, FamilynetError) as error:
        status, body, headers = _problem(error)
        return json_response(status, body, headers)
    headers = {"Location": f"/referrals/{outcome.reference}"}
    if not outcome.created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(201, outcome_body(outcome), headers)


def post_form(event: dict[str, Any], store: ReferralStore | None) -> dict[str, Any]:
    """The web form without JavaScript: every answer comes back on the page, whatever happens."""
    try:
        form = referral_form.read_form(parse_body(event))
    except HttpError as error:
        _problem(error)
        page = referral_form.render_problem("Sorry, the form could not be read", error.message)
        return html_response(error.status, page)
    token = form.token or referral_form.new_token()  # a missing or unusable token is replaced, never a dead end
    if form.action != referral_form.SEND:
        metrics.add_metric(name="FormRowsChanged", unit=MetricUnit.Count, value=1)
        values = referral_form.apply_action(form.values, form.action)
        return html_response(200, referral_form.render_form(values, [], token))
    try:
        request = validate_submission(
            referral_form.model_body(form.values), form.token, settings=get_settings(), source_ip=source_ip(event)
        )
        outcome = _submit(request, store)
    except IdempotencyKeyReused as error:
        _problem(error)
        page = referral_form.render_problem(
            "This referral was already sent",
            "This form was sent before, with different answers. Your first referral was received: to make "
            "another, start a new form.",
        )
        return html_response(409, page)
    except (HttpError, FamilynetError) as error:
        status, body, headers = _problem(error)
        if status == 503:
            message = f"{body['message']}. Your answers have not been sent."
            errors = [{"field": "body", "message": message, "target": "main-content"}]
        else:
            problems = body.get("errors") or [{"field": "body", "message": body["message"]}]
            errors = referral_form.form_errors(problems, form.values)
        return html_response(status, referral_form.render_form(form.values, errors, token), headers)
    page = referral_form.render_confirmation(outcome.reference, request.submission.route.value, outcome.status.value)
    return html_response(201, page)


def _submit(request: IntakeRequest, store: ReferralStore | None) -> SubmissionOutcome:
    outcome = submit_referral(
        request,
        store=store or ReferralStore(get_settings().table_name),
        settings=get_settings(),
        correlation_id=logger.get_correlation_id() or "none",
    )
    logger.append_keys(reference=outcome.reference)
    if outcome.created:
        logger.info("Referral received", extra={"route": request.submission.route.value})
        metrics.add_dimension(name="route", value=request.submission.route.value)
        metrics.add_metric(name="ReferralsReceived", unit=MetricUnit.Count, value=1)
    else:
        logger.info("Repeated submission answered with its first reference")
        metrics.add_metric(name="ReferralsRepeated", unit=MetricUnit.Count, value=1)
    return outcome


def _problem(error: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The answer to a refused or failed submission, logged and counted (field paths only: never a value)."""
    problem = api_problem(error)
    if problem is None:
        raise error  # a bug: the resolver's catch-all answers it
    status, body, headers = problem
    if status == 503:  # the referrer can only try again: the same words and Retry-After, whatever failed
        body, headers = {"message": BUSY}, RETRY_AFTER
        logger.exception("Referral could not be stored", extra={"error_kind": type(error).__name__})
        metrics.add_metric(name="ReferralsFailed", unit=MetricUnit.Count, value=1)
    else:
        fields = [_loggable(e["field"]) for e in body.get("errors") or []]
        logger.info("Referral refused", extra={"status": status, "fields": fields})
        metrics.add_metric(name="ReferralsRefused", unit=MetricUnit.Count, value=1)
    return status, body, headers


def _loggable(field: str) -> str:
    """Field paths are ours (`family.children.0.first_name`), except unknown keys a client made up: those could be
    anything, a name included, so they are logged as a marker."""
    return field if referral_form.is_known_field(field) else "(unknown field)"
