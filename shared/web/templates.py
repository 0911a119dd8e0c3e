"""The one Jinja environment of every page and email: the web form's pages (`web/templates`), emails
(`email_templates`, plain text and HTML parts) and staff pages (`page_templates`), each under its own prefix.

HTML is autoescaped; plain-text email parts are not (escaping would show "&amp;" to the reader). Undefined values
fail loudly rather than render as blanks.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).resolve().parent
WEB = HERE.parents[1] / "web"  # the form's templates and built assets (staged only with the function serving them)
FOLDERS = {"pages": WEB / "templates", "emails": HERE / "email_templates", "staff": HERE / "page_templates"}


@cache
def environment() -> Environment:
    # deferred: jinja2 is loaded with the first page or email, not with the function
    from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape  # noqa: PLC0415

    return Environment(
        loader=PrefixLoader({prefix: FileSystemLoader(folder) for prefix, folder in FOLDERS.items()}),
        autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


CONSOLE = HERE / "console_templates"


@cache
def console_environment() -> Environment:
    """The console's pages, with the GOV.UK Frontend macros of govuk-frontend-jinja (`govuk_frontend_jinja/…`).

    Its own environment because those macros test parameters a page leaves out (`params.classes`), which the strict
    environment above refuses; pages here still autoescape, and are tested in a browser (tests/e2e/test_console.py).
    """
    from jinja2 import (  # noqa: PLC0415
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        PackageLoader,
        PrefixLoader,
        select_autoescape,
    )

    govuk = PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")})
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(CONSOLE), govuk]),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **values: Any) -> str:
    """`template` with its prefix: `pages/form.html`, `emails/acknowledgement.txt`, `staff/subject_access.html`."""
    return environment().get_template(template).render(**values)
