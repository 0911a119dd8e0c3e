"""The page a community partner answers a connection on (its signed link, no login), in the form's GOV.UK
layout: the question, its problems in the page's own words, what was recorded, or why a link changes nothing."""

from __future__ import annotations

from typing import Any

from shared.service.connections import Connection
from shared.web.http import html_response
from shared.web.referral_form import render_web_page

TITLE = "Connecting a family with your help"
PROBLEMS = {
    "answer": "Choose whether you have made contact with the family or cannot help",
    "note": "Keep the note to 500 characters or fewer",
}
UNAVAILABLE = "Sorry, there is a problem with the service"
PAGE = {"service_name": "Family Network: Early Help partners", "service_home": "#main-content"}


def page(status: int, state: str, title: str, message: str = "", **values: Any) -> dict[str, Any]:
    text = render_web_page("connection.html", state=state, title=title, message=message, **PAGE, **values)
    return html_response(status, text, {"Cache-Control": "no-store"})


def form(connection: Connection, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    expires = f"{connection.expires_at.day} {connection.expires_at:%B %Y}"
    # a field's name is its input's id; the page says what to do in its own words
    shown = [{"target": e["field"], "message": PROBLEMS.get(e["field"], e["message"])} for e in errors or []]
    return page(422 if errors else 200, "form", TITLE, connection=connection, expires_on=expires, errors=shown)


def recorded(answered: Connection) -> dict[str, Any]:
    thanks = (
        "Thank you for making contact with the family. The coordinators have been told."
        if answered.status == "contacted"
        else "Thank you for letting us know. The coordinators have been told and will look for other help."
    )
    return page(200, "done", "Your answer is recorded", thanks, connection=answered)
