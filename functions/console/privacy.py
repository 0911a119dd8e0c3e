"""Privacy actions, for managers only (issue 19, item 6): the subject access export of a referral (a page, and the
same as a JSON download), and erasing a referral's personal data on its UK GDPR ground where the rules allow it.

A coordinator sees no button for these and is refused (403) at each address. Every export is a read of the case,
recorded in its read audit under the route it came through; erasure is audited with its ground (never in a log)."""

from __future__ import annotations

import json
import typing

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import case
from functions.console.common import checked_form, correlation_id, reader, signed_in
from shared.config import get_settings
from shared.domain import clock
from shared.domain.referrals import check_reference
from shared.observability import logger, metrics
from shared.service import erasure
from shared.service.staff_sessions import NoAccess, Session
from shared.views import subject_access
from shared.views.referrals import Access
from shared.web import subject_access as subject_access_page
from shared.web.console import CONSOLE_HEADERS, page, redirect
from shared.web.http import as_response, html_response
from shared.web.routes import register
from shared.web.staff import PRIVACY_MANAGERS_ONLY

router = Router()
GROUNDS = {
    "consent_withdrawn": ("The family withdrew their consent", "UK GDPR Article 17(1)(b)"),
    "no_longer_necessary": ("The records are no longer needed for the purpose they were given for", "Article 17(1)(a)"),
    "objection": ("The family objected and there is no overriding reason to keep them", "Article 17(1)(c)"),
    "unlawfully_processed": ("The records were processed unlawfully", "Article 17(1)(d)"),
}
assert set(GROUNDS) == set(typing.get_args(erasure.GROUNDS))


def managers_only(session: Session, refusal: str = PRIVACY_MANAGERS_ONLY) -> Session:
    """The session of a manager; anyone else is refused (403) with `refusal`."""
    if session.role != "manager":
        logger.info("Managers' page refused: not a manager")
        if refusal == PRIVACY_MANAGERS_ONLY:
            metrics.add_metric(name="PrivacyActionsRefused", unit=MetricUnit.Count, value=1)
        raise NoAccess(refusal)
    return session


def _export(session: Session, reference: str, route: str) -> dict[str, typing.Any]:
    access = Access(session.actor, route, get_settings(), clock.now())
    document = subject_access.export(reader(), reference, access)  # recorded as a read of the case
    logger.info("Subject access export made", extra={"reference": reference})
    metrics.add_metric(name="SubjectAccessExports", unit=MetricUnit.Count, value=1)
    return document


@register(router, "GET /staff/referrals/{reference}/export")
def export_page(reference: str) -> Response[str]:
    session = managers_only(signed_in(router))
    reference = check_reference(reference)
    document = _export(session, reference, "GET /staff/referrals/{reference}/export")
    return as_response(
        page(
            200,
            "subject_access.html",
            session=session,
            title=f"Everything held about {reference}",
            reference=reference,
            export=document,
            sections=subject_access_page.sections(document),
        )
    )


@register(router, "GET /staff/referrals/{reference}/export/download")
def export_download(reference: str) -> Response[str]:
    session = managers_only(signed_in(router))
    reference = check_reference(reference)
    document = _export(session, reference, "GET /staff/referrals/{reference}/export/download")
    answer = html_response(
        200,
        json.dumps(document, indent=1, ensure_ascii=False),
        {
            **CONSOLE_HEADERS,
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="{reference}-subject-access.json"',
        },
    )
    return as_response(answer)


@register(router, "GET /staff/referrals/{reference}/erase")
def erase_form(reference: str) -> Response[str]:
    session = managers_only(signed_in(router))
    return _erase_page(session, check_reference(reference), ground="", error=None)


@register(router, "POST /staff/referrals/{reference}/erase")
def erase(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    managers_only(session)
    ground = str(form.get("ground") or "")
    if ground not in GROUNDS:
        return _erase_page(session, reference, ground="", error="Choose the ground for erasing the records", status=422)
    try:
        outcome = erasure.erase(
            reference,
            erasure.ErasureRequest.model_validate({"ground": ground}),
            actor=session.actor,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
        )
    except erasure.ErasureRefused as refused:
        return case(session, reference, status=409, refusal=refused.message)
    logger.info("Referral erased", extra={"reference": reference, "ground": ground, "items": outcome["items"]})
    metrics.add_metric(name="ReferralsErased", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=erased"))


def _erase_page(
    session: Session, reference: str, *, ground: str, error: str | None, status: int = 200
) -> Response[str]:
    return as_response(
        page(
            status,
            "erase.html",
            session=session,
            title="Erase this referral's personal data",
            reference=reference,
            ground=ground,
            grounds=GROUNDS,
            ground_error=error,
            errors=[{"text": error, "href": "#ground"}] if error else [],
        )
    )
