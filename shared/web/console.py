"""The console's requests and answers: its cookies, the checks every form passes (a session's CSRF token and this
site's Origin), its pages in the GOV.UK and MOJ Design Systems, and redirects after a change (POST, then GET)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from shared.service.staff_sessions import Session
from shared.web.http import header, html_response
from shared.web.templates import console_environment

SESSION_COOKIE = "__Host-familynet-session"  # __Host-: Secure, Path=/, no Domain: this site's only
SIGN_IN_COOKIE = "__Host-familynet-sign-in"
SERVICE_NAME = "Family Network"
# "same-origin", not the form's "no-referrer": with no-referrer a browser sends `Origin: null` on every POST, and the
# console checks each form's Origin. Nothing is sent to another site either way.
CONSOLE_HEADERS = {"Referrer-Policy": "same-origin"}
STATUS_TAGS = {
    "received": ("New request", "govuk-tag--blue"),
    "accepted": ("Accepted", "govuk-tag--turquoise"),
    "preparing": ("Preparing", "govuk-tag--light-blue"),
    "family_declined": ("Family declined", "govuk-tag--grey"),
    "declined": ("Declined", "govuk-tag--grey"),
    "withdrawn": ("Withdrawn", "govuk-tag--grey"),
    "meeting_scheduled": ("Meeting booked", "govuk-tag--purple"),
    "meeting_held": ("Meeting held", "govuk-tag--green"),
    "awaiting_agreement": ("Plan awaiting agreement", "govuk-tag--yellow"),
    "plan_active": ("Plan active", "govuk-tag--green"),
    "closed": ("Closed", "govuk-tag--grey"),
}
# A support package item's status (shared/domain/plans.py): `requested` waits for a manager's approval.
PACKAGE_TAGS = {
    "requested": ("Waiting for approval", "govuk-tag--yellow"),
    "approved": ("Approved", "govuk-tag--blue"),
    "delivered": ("Delivered", "govuk-tag--green"),
    "declined": ("Declined", "govuk-tag--red"),
}


def cookies(event: dict[str, Any]) -> dict[str, str]:
    """The request's cookies (payload 2.0 lists them; a client may still send the header)."""
    found: dict[str, str] = {}
    listed = event.get("cookies")
    parts = [str(c) for c in listed] if isinstance(listed, list) else (header(event, "cookie") or "").split(";")
    for part in parts:
        name, _, value = part.strip().partition("=")
        if name and name not in found and len(value) <= 256:
            found[name] = value
    return found


def set_cookie(name: str, value: str, *, max_age: int) -> Cookie:
    """Secure, HttpOnly, SameSite=Lax, for the whole site (a __Host- cookie has Path=/ and no Domain)."""
    return Cookie(name, value, path="/", secure=True, http_only=True, max_age=max_age, same_site=SameSite.LAX_MODE)


def clear_cookie(name: str) -> Cookie:
    return set_cookie(name, "", max_age=-1)


def same_origin(event: dict[str, Any], public_url: str) -> bool:
    """A state-changing form must come from this site: its Origin is the console's own (browsers send it on POST)."""
    origin = header(event, "origin")
    if not origin:
        return False
    ours = urllib.parse.urlsplit(public_url)
    try:
        theirs = urllib.parse.urlsplit(origin.strip())
    except ValueError:  # "http://[" and the like: not this site
        return False
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def render(template: str, *, session: Session | None, **values: Any) -> str:
    page: str = (
        console_environment()
        .get_template(template)
        .render(
            service_name=SERVICE_NAME, session=session, status_tags=STATUS_TAGS, package_tags=PACKAGE_TAGS, **values
        )
    )
    return page


def page(
    status: int, template: str, *, session: Session | None, cookies: list[Cookie] | None = None, **values: Any
) -> dict[str, Any]:
    answer = html_response(status, render(template, session=session, **values), CONSOLE_HEADERS)
    if cookies:
        answer["cookies"] = cookies
    return answer


def redirect(location: str, *, status: int = 303, cookies: list[Cookie] | None = None) -> dict[str, Any]:
    answer = html_response(status, "", {"Location": location, **CONSOLE_HEADERS})
    if cookies:
        answer["cookies"] = cookies
    return answer
