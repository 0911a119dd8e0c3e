"""Every route of the HTTP API, once: the CDK app adds each to the API (infra/constants.py derives its lists from
here), each function's resolver registers exactly its own (`register`, `check_served`), and `make schemas` writes
docs/openapi.json from it (generators/api_catalogue.py).

Request bodies are named "module:Model" and imported only by the OpenAPI generator, so that a function importing
this table does not pay at cold start for the models of routes it does not serve.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.domain.referrals import ReferralStatus

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Route:
    key: str  # "METHOD /path/{param}", as API Gateway writes a route key
    function: str  # the function serving it: functions/<function>/
    summary: str
    staff: bool = True  # behind the JWT authorizer (coordinators); otherwise public
    body: str | None = None  # the request model, "module:Model"
    responses: dict[str, str] = field(default_factory=dict)
    parameters: tuple[dict[str, Any], ...] = ()
    media_types: tuple[str, ...] = ("application/json",)  # the request body's
    # The answer's JSON body by status, "module:Model" (shared/web/answers.py); a refusal's is always a Problem.
    answers: dict[str, str] = field(default_factory=dict)
    pages: bool = False  # answers people with HTML pages (and redirects), as well as any JSON in `answers`
    # Rules a request must also meet that JSON Schema cannot state (dates against today or each other, values only
    # this service gave): in the document's description, refused with `unstated_status`.
    unstated: str = ""
    unstated_status: str = "422"

    @property
    def method(self) -> str:
        return self.key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.key.split(" ", 1)[1]

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path as a regular expression: a `{parameter}` is one segment."""
        return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(self.path)) + "$")

    @property
    def resolver_path(self) -> str:
        """The path as Powertools' resolvers write it: `{reference}` becomes `<reference>`."""
        return self.path.replace("{", "<").replace("}", ">")


REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^FN-[A-HJ-NP-Z2-9]{8}$"},
}
FACILITATOR = {
    "name": "facilitator_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"},
}
REVIEW_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 999},
}
ITEM_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The support package item's number in the plan (stable through reviews)",
    "schema": {"type": "integer", "minimum": 1, "maximum": 999},
}
CHILD = {
    "name": "child",
    "in": "path",
    "required": True,
    "description": "The child's number on the referral: 1 for the first child named",
    "schema": {"type": "integer", "minimum": 1, "maximum": 12},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The ETag as read (the referral's, the partner's or the participant's): the change applies only if "
    "nothing changed since (else 409).",
    "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,9}"?$'},
}


PARTNER_ID = {
    "name": "partner_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^p-[a-z0-9]{1,30}$"},
}
PARTICIPANT_ID = {
    "name": "participant_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^pt-[a-f0-9]{10}$"},
}
_PARTICIPANT_RULES = (
    "the way they prefer to be contacted has its detail (an email address, a postal address or a phone number); "
    "an exclusion has its reason"
)
TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "The signed, expiring link from the partner's connection email",
    "schema": {"type": "string", "maxLength": 1024},
}
AGREEMENT_TOKEN = {
    **TOKEN,
    "description": "The signed, expiring link from the email asking the lead practitioner to agree the plan",
}
PLAN_TOKEN = {
    **TOKEN,
    "description": "The signed, expiring link to the family's plan from the email sent to one of the people it is for",
}
LINK_ID = {
    "name": "link_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^L[a-f0-9]{16}$"},
}
_PLAN_LINK = {
    "404": "The link is not valid (altered, incomplete, or made for something else)",
    "410": "Expired, closed by the coordinators, or the referral has closed",
}
_AGREEMENT_LINK = {
    "404": "The link is not valid (altered, incomplete, or made for something else)",
    "409": "Already answered: nothing changed",
    "410": "Expired, or the plan is no longer waiting for this answer (sent again since, or the referral withdrawn)",
}
EVALUATION_TOKEN = {
    **TOKEN,
    "description": "The signed, expiring link from the email asking a family respondent how their meeting went",
}
_EVALUATION_LINK = {
    "404": "The link is not valid (altered, incomplete, or made for something else)",
    "409": "The evaluation was already recorded: nothing changed",
    "410": "Expired, or no longer open (the referral withdrawn, the respondent no longer asked)",
}
_CHANGE = {
    "200": "The change, with the referral's new status and version (ETag)",
    "404": "No referral with this reference",
    "409": "Illegal or stale: the current status and the allowed actions",
    "422": "Problems to fix, one per field",
}
# The console's answers: pages, and redirects after a change (POST, then GET: a reload never repeats it).
_FORM = ("application/x-www-form-urlencoded",)
_PAGE = {
    "200": "The page",
    "303": "Not signed in: to the sign-in, returning here after",
    "403": "Signed in without a coordinators' or managers' group",
    "404": "No such referral",
}
_POSTED = {
    "303": "Done, or refused with the reason shown on the page it returns to",
    "400": "A form that cannot be read",
    "403": "Not signed in, or without the form's CSRF token, or from another site",
    "422": "The form again, with what to fix",
}
_SIGN_IN = {"302": "To the managed login"}
_REVIEW_GONE = "Illegal, stale or the review no longer open: the case page as it now stands, with the reason"
_OUTCOME_POSTED = {
    **_POSTED,
    "200": "The form again with a row added or removed (nothing recorded)",
    "404": "No such referral",
    "409": "Illegal or stale (changed since the form was read): the case page as it now stands, with the reason",
}
_CHANGE_POSTED = {
    **_POSTED,
    "404": "No such referral",
    "409": "Changed by someone else, or not in preparation: the page as it now stands, with the reason",
}
_DIRECTORY_PAGE = {**_PAGE, "404": "No such facilitator or partner"}
_DIRECTORY_POSTED = {
    **_POSTED,
    "404": "No such facilitator or partner",
    "409": "Changed by someone else since it was read: the form again, as it now stands",
}
_CALLBACK = {
    "303": "Signed in: to the page asked for",
    "400": "A sign-in that cannot be finished (expired, altered, or from another browser): start again",
    "403": "Signed in without a coordinators' or managers' group",
}
_CALLBACK_QUERY = tuple(
    {"name": name, "in": "query", "required": True, "schema": {"type": "string", "maxLength": 2048}}
    for name in ("code", "state")
)
_MANAGERS_PAGE = {**_PAGE, "403": "Not a manager (only managers export or erase), or in no staff group"}
_CONNECTION_POSTED = {
    **_POSTED,
    "404": "No such referral, or no connection with that partner",
    "409": "The connection is not waiting for an answer: the case page says why",
    "422": "The form again, with what to fix (or the partner is no longer active: the case page says so)",
}
_DIRECTORY_QUERY = (
    {"name": "offer", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 40}},
    {"name": "locality", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 60}},
)
_PERIOD = (
    {
        "name": "period",
        "in": "query",
        "required": False,
        "description": "A month (2026-11) or a quarter (2026-Q4); this month when not given",
        "schema": {"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2]|Q[1-4])$"},
    },
)
_REPORT_PAGE = {
    **_PAGE,
    "400": "A period that is not a month or a quarter",
    "403": "Not a manager, or in no staff group",
}
_CURSOR = (
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The next page's start, as the page before gave it",
        "schema": {"type": "string", "maxLength": 2048},
    },
)
_ITEM = (REFERENCE, ITEM_NUMBER)
_ITEM_PAGE = {**_PAGE, "404": "No such referral, or no such item in its plan"}
_ITEM_POSTED = {
    **_POSTED,
    "404": "No such referral, or no such item in its plan",
    "409": "The item is not in a state that allows it, or the referral changed since it was read: the page as it "
    "now stands, saying why",
}
_DECISION_POSTED = {
    **_ITEM_POSTED,
    "403": "Not a manager (only managers approve or decline spending), not signed in, without the form's CSRF token, "
    "or from another site",
    "422": "The decline form again: the reason is missing or too long",
}
# Console answers that are files, not pages: their media type.
_DOWNLOADS = {
    "GET /staff/referrals/{reference}/export/download": "application/json",
    "GET /staff/reports/download": "text/csv",
    "GET /staff/referrals/{reference}/plan/document": "application/pdf",
}
_SIGN_IN_STARTED = "the code and state are those of a sign-in this browser started (its cookie), not yet finished"
_UNSTATED = {
    "GET /staff/callback": _SIGN_IN_STARTED,
    "GET /staff/approvals": "the cursor is one this service gave (the last page's link)",
}
ROUTES = (
    Route(
        "GET /",
        "intake",
        "The referral web form (HTML, with a one-time submission token)",
        staff=False,
        responses={"200": "The form"},
        pages=True,
    ),
    Route(
        "GET /assets/{file}",
        "intake",
        "The form's CSS and JavaScript",
        staff=False,
        responses={"200": "The file", "404": "No such file"},
        pages=True,
        parameters=({"name": "file", "in": "path", "required": True, "schema": {"type": "string"}},),
    ),
    Route(
        "GET /privacy", "intake", "The privacy notice (HTML)", staff=False, responses={"200": "The page"}, pages=True
    ),
    Route(
        "GET /accessibility",
        "intake",
        "The accessibility statement (HTML)",
        staff=False,
        responses={"200": "The page"},
        pages=True,
    ),
    Route(
        "POST /referrals",
        "intake",
        "Submit a referral (JSON, or form-encoded from the web form)",
        staff=False,
        body="shared.domain.referrals:ReferralSubmission",
        responses={
            "201": "The reference and status (HTML confirmation for a browser's form post)",
            "400": "Malformed",
            "413": "Over 64 KB (256 KB as a form)",
            "415": "Another media type",
            "422": "Problems to fix, one per field (the referrer's address must be at an allowed domain; an "
            "Idempotency-Key already used for a different referral)",
            "429": "Too many referrals today from this address or network: retry after Retry-After (seconds)",
            "503": "Busy: retry after Retry-After",
        },
        answers={"201": "shared.web.answers:Created"},
        pages=True,
        parameters=(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A repeat with the same key answers the first reference",
                "schema": {"type": "string", "maxLength": 255, "pattern": r"^[!-~]([ -~]{0,253}[!-~])?$"},
            },
        ),
        unstated=(
            "each child's date of birth is in the past and within 25 years; the consent's date is not in the future"
        ),
    ),
    Route(
        "GET /referrals",
        "scheduling",
        "The coordinators' queue: referrals in a status, newest first, a page at a time",
        responses={"200": "Items and next_cursor", "400": "Unknown status, bad limit or cursor"},
        answers={"200": "shared.web.answers:Queue"},
        parameters=(
            {
                "name": "status",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": [s.value for s in ReferralStatus], "default": "received"},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            },
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
        ),
        unstated="the cursor is one this service gave (the last page's next_cursor)",
        unstated_status="400",
    ),
    Route(
        "GET /referrals/{reference}",
        "scheduling",
        "One referral with its meeting, proposals, plan, reviews, emails, audit trail and allowed actions",
        responses={"200": "The referral (ETag: its version)", "404": "No referral with this reference"},
        answers={"200": "shared.web.answers:Referral"},
        parameters=(REFERENCE,),
    ),
    Route(
        "POST /referrals/{reference}/accept",
        "scheduling",
        "Accept a request from another professional",
        body="shared.service.decisions:AcceptBody",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:Change"},
    ),
    Route(
        "POST /referrals/{reference}/decline",
        "scheduling",
        "Decline a request, with a reason",
        body="shared.service.decisions:ReasonBody",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:Change"},
    ),
    Route(
        "POST /referrals/{reference}/withdraw",
        "scheduling",
        "Withdraw an open referral, with a reason",
        body="shared.service.decisions:ReasonBody",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:Change"},
    ),
    Route(
        "GET /facilitators",
        "scheduling",
        "Facilitators, their localities and weekly availability",
        responses={"200": "The facilitators"},
        answers={"200": "shared.web.answers:Facilitators"},
    ),
    Route(
        "PUT /facilitators/{facilitator_id}/availability",
        "scheduling",
        "Set a facilitator's locality and weekly hours",
        body="shared.domain.meetings:Availability",
        responses={"200": "The facilitator", "422": "Problems to fix, one per field"},
        parameters=(FACILITATOR,),
        answers={"200": "shared.web.answers:Facilitator"},
        unstated="each weekly window ends after it starts",
    ),
    Route(
        "PUT /referrals/{reference}/meeting",
        "scheduling",
        "Book the meeting, or move it (any slot, not only a proposal)",
        body="shared.domain.meetings:MeetingRequest",
        responses={**_CHANGE, "409": "Illegal or stale, or the facilitator is already booked then"},
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:MeetingChange"},
        unstated=(
            "the meeting ends after it starts and lasts at most 4 hours; it starts in the future, after "
            "the referral was received, within the facilitator's availability unless the exception is "
            "confirmed with a reason; a first booking waits for the preparation checklist (422 names each item "
            "not yet done)"
        ),
    ),
    Route(
        "POST /referrals/{reference}/preparation/contacts",
        "scheduling",
        "Record a preparation contact: a visit or a call, its date and a short note (kept with the referral, audited "
        "by id, never in an event or email); the first preparation record moves an accepted referral to preparing",
        body="shared.domain.preparation:Contact",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:PreparationChange"},
        unstated="the date of the contact is not before the referral was received",
    ),
    Route(
        "PUT /referrals/{reference}/preparation/decision",
        "scheduling",
        "Record the family's decision: going ahead meets the checklist's family_agreed; not going ahead closes the "
        "referral (family_declined) and the referrer is told",
        body="shared.domain.preparation:FamilyDecision",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:PreparationChange"},
        unstated="the date of the decision is not before the referral was received",
    ),
    Route(
        "PUT /referrals/{reference}/preparation/checklist",
        "scheduling",
        "The preparation checklist's ticked items as they now stand (the family's agreement comes from its decision)",
        body="shared.domain.preparation:ChecklistUpdate",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:PreparationChange"},
        unstated="each item is on this deployment's checklist (familynet:preparation_checklist)",
    ),
    Route(
        "PUT /referrals/{reference}/children/{child}/voice",
        "scheduling",
        "Record a child's voice: wishes and feelings (kept with the referral, never in an event or email), how they "
        "take part, and their advocate",
        body="shared.domain.preparation:ChildVoice",
        responses={**_CHANGE, "404": "No referral with this reference, or no such child on it"},
        parameters=(REFERENCE, CHILD, IF_MATCH),
        answers={"200": "shared.web.answers:PreparationChange"},
        unstated="the child is one the referral names",
    ),
    Route(
        "DELETE /referrals/{reference}/meeting",
        "scheduling",
        "Cancel the meeting, with a reason",
        body="shared.domain.meetings:CancelRequest",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:MeetingChange"},
    ),
    Route(
        "POST /referrals/{reference}/meeting/outcome",
        "scheduling",
        "Record the meeting held (with the plan and the first review) or not held (with a reason)",
        body="shared.domain.plans:Outcome",
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:MeetingChange"},
        unstated=(
            "held: held_on is given and no reason, and the first review is after the meeting and within "
            "three months of it; not held: a reason is given; partners named have their consent answer"
        ),
    ),
    Route(
        "GET /referrals/{reference}/export",
        "scheduling",
        "Subject access (managers only): everything held about the referral (JSON; a readable page with Accept: "
        "text/html); the export is recorded as a read",
        responses={
            "200": "The export",
            "403": "Not a manager: only managers export or erase a referral's records",
            "404": "No referral with this reference",
        },
        parameters=(REFERENCE,),
        answers={"200": "shared.web.answers:SubjectAccess"},
        pages=True,
    ),
    Route(
        "GET /partners",
        "scheduling",
        "The Early Help network's directory: active partners by offer and/or locality (one index Query)",
        responses={"200": "Partners, by name", "400": "offer is not one of the vocabulary"},
        parameters=(
            # its enum is the vocabulary of shared.service.partners.Offer, filled in by the OpenAPI generator
            {"name": "offer", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "locality", "in": "query", "required": False, "schema": {"type": "string"}},
        ),
        answers={"200": "shared.web.answers:Partners"},
    ),
    Route(
        "POST /partners",
        "scheduling",
        "Add a partner to the directory (audited)",
        body="shared.service.partners:PartnerRequest",
        responses={"201": "The partner, with its id and version (ETag)", "422": "Problems to fix, field by field"},
        answers={"201": "shared.web.answers:Partner"},
        unstated="offers and localities are each listed once, whatever their case",
    ),
    Route(
        "PUT /partners/{partner_id}",
        "scheduling",
        "Change a partner; `active: false` takes it out of the directory (it is never deleted)",
        body="shared.service.partners:PartnerRequest",
        responses={
            "200": "The partner as changed",
            "404": "No partner with this id",
            "409": "Stale: the partner changed since it was read",
            "422": "Problems to fix, field by field",
        },
        parameters=(
            PARTNER_ID,
            IF_MATCH,
        ),
        answers={"200": "shared.web.answers:Partner"},
        unstated="offers and localities are each listed once, whatever their case",
    ),
    Route(
        "GET /connections/{token}",
        "connections",
        "A partner's link (no login): the page to answer a connection; changes nothing",
        staff=False,
        responses={
            "200": "The page with the question (HTML)",
            "404": "The link is not valid (altered or incomplete)",
            "409": "Already answered",
            "410": "Expired, or the request is no longer open (the plan changed, the referral was withdrawn)",
        },
        parameters=(TOKEN,),
        pages=True,
    ),
    Route(
        "POST /connections/{token}",
        "connections",
        "A partner's answer: made contact with the family, or declines (recorded once, audited)",
        staff=False,
        body="shared.service.connections:ConnectionAnswer",
        media_types=("application/x-www-form-urlencoded", "application/json"),
        responses={
            "200": "Recorded (HTML)",
            "404": "The link is not valid (altered or incomplete)",
            "409": "Already answered: nothing changed",
            "410": "Expired, or the request is no longer open: nothing changed",
            "422": "The answer is missing or the note too long: the page again, with the problem",
        },
        parameters=(TOKEN,),
        pages=True,
    ),
    Route(
        "GET /agreements/{token}",
        "connections",
        "The lead practitioner's link (no login): the family's plan and the question; changes nothing, and is "
        "recorded in the referral's read audit",
        staff=False,
        responses={"200": "The plan and the question (HTML)", **_AGREEMENT_LINK},
        parameters=(AGREEMENT_TOKEN,),
        pages=True,
    ),
    Route(
        "POST /agreements/{token}",
        "connections",
        "The lead practitioner's answer: the plan agreed (it comes into force), or changes asked with reasons "
        "(recorded once, audited)",
        staff=False,
        body="shared.service.agreement:AgreementAnswer",
        media_types=("application/x-www-form-urlencoded", "application/json"),
        responses={
            "200": "Recorded (HTML)",
            **_AGREEMENT_LINK,
            "422": "No answer, or changes asked without reasons: the page again, with the problem",
        },
        parameters=(AGREEMENT_TOKEN,),
        pages=True,
        unstated="changes take reasons; an agreement takes none",
    ),
    Route(
        "GET /plans/{token}",
        "connections",
        "The family's plan behind one recipient's link (no login): who agreed to do what by when, the support "
        "package and where each item is, the next review and who to contact; printable; recorded in the referral's "
        "read audit",
        staff=False,
        responses={"200": "The plan (HTML)", **_PLAN_LINK},
        parameters=(PLAN_TOKEN,),
        pages=True,
    ),
    Route(
        "GET /plans/{token}/document",
        "connections",
        "The same plan as a PDF (tagged, its language set), downloaded; recorded in the referral's read audit",
        staff=False,
        responses={"200": "The plan (PDF)", **_PLAN_LINK},
        parameters=(PLAN_TOKEN,),
        pages=True,
        answers={"200": "application/pdf"},
    ),
    Route(
        "GET /evaluations/{token}",
        "connections",
        "A family respondent's link (no login): the short evaluation of their meeting; changes nothing, and is "
        "recorded in the referral's read audit",
        staff=False,
        responses={"200": "The questions (HTML)", **_EVALUATION_LINK},
        parameters=(EVALUATION_TOKEN,),
        pages=True,
    ),
    Route(
        "POST /evaluations/{token}",
        "connections",
        "A family respondent's evaluation of their meeting: family-led, heard, would recommend, and their own words "
        "(recorded once, audited; the answers stay with the referral, never in an event or a log)",
        staff=False,
        body="shared.domain.evaluations:EvaluationAnswers",
        media_types=("application/x-www-form-urlencoded", "application/json"),
        responses={
            "200": "Recorded (HTML)",
            **_EVALUATION_LINK,
            "422": "A question not answered, or the comments too long: the page again, with the problem",
        },
        parameters=(EVALUATION_TOKEN,),
        pages=True,
    ),
    Route(
        "POST /referrals/{reference}/plan/agreement",
        "scheduling",
        "Record the lead practitioner's (or referrer's) answer to the plan given another way: agreed (the plan comes "
        "into force: its first review opens, its partners are asked, the referrer gets the feedback), or changes "
        "asked with reasons (the plan goes back to the coordinator); audited as yours",
        body="shared.service.agreement:AgreementAnswer",
        responses={**_CHANGE, "409": "Illegal or stale: the plan is not waiting for agreement, or changed meanwhile"},
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:AgreementRecorded"},
        unstated="changes take reasons; an agreement takes none; partners the plan names are still active",
    ),
    Route(
        "PUT /referrals/{reference}/plan",
        "scheduling",
        "Revise the plan waiting for agreement and send it again: a new email and link to the lead practitioner "
        "(the last link closes)",
        body="shared.domain.plans:Plan",
        responses={**_CHANGE, "409": "Illegal or stale: the plan is not waiting for agreement, or changed meanwhile"},
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:AgreementRequested"},
        unstated=(
            "the first review is after the meeting and within three months of it; partners named have their "
            "consent answer and are active"
        ),
    ),
    Route(
        "POST /referrals/{reference}/connections/{partner_id}",
        "scheduling",
        "Record a partner's answer given another way (a phone call): as through its link, audited as yours",
        body="shared.service.connections:ConnectionAnswer",
        responses={
            "200": "The connection as recorded",
            "404": "No such referral, or no connection with that partner",
            "409": "The connection is not waiting for an answer (answered, ended, or the referral withdrawn)",
            "422": "The answer is missing or the note too long",
        },
        parameters=(REFERENCE, PARTNER_ID),
        answers={"200": "shared.web.answers:Connection"},
    ),
    Route(
        "POST /referrals/{reference}/connections/{partner_id}/resend",
        "scheduling",
        "Ask a waiting partner again (after its address was corrected): a new email and link; the old link closes",
        responses={
            "200": "The connection, in its new round",
            "404": "No such referral, or no connection with that partner",
            "409": "The connection is not waiting for an answer, or changed meanwhile",
            "422": "The partner is no longer active in the directory",
        },
        parameters=(REFERENCE, PARTNER_ID),
        answers={"200": "shared.web.answers:Connection"},
    ),
    Route(
        "GET /referrals/{reference}/participants",
        "scheduling",
        "The meeting's participants, those the coordinator contacts another way (and why), and open tasks (an "
        "interpreter the referral asked for); recorded as a read",
        responses={"200": "The participants", "404": "No referral with this reference"},
        parameters=(REFERENCE,),
        answers={"200": "shared.web.answers:Participants"},
    ),
    Route(
        "POST /referrals/{reference}/participants",
        "scheduling",
        "Add a participant (audited by id); with an email address, consent and email as their preference, they are "
        "sent the invitation and its changes (at once, if the meeting is booked)",
        body="shared.domain.participants:ParticipantRequest",
        responses={
            "201": "The participant, with its id and version (ETag)",
            "404": "No referral with this reference",
            "409": "The referral is no longer open, or changed at the same moment (its meeting moved): try again",
            "422": "Problems to fix, field by field",
        },
        parameters=(REFERENCE,),
        answers={"201": "shared.web.answers:Participant"},
        unstated=_PARTICIPANT_RULES,
    ),
    Route(
        "PUT /referrals/{reference}/participants/{participant_id}",
        "scheduling",
        "Change a participant: contact details, consent, attendance (excluded with a reason: sent nothing more)",
        body="shared.domain.participants:ParticipantRequest",
        responses={
            "200": "The participant as changed",
            "404": "No such referral, or no participant with this id",
            "409": "Stale (the participant changed since it was read), or the referral is no longer open",
            "422": "Problems to fix, field by field",
        },
        parameters=(REFERENCE, PARTICIPANT_ID, IF_MATCH),
        answers={"200": "shared.web.answers:Participant"},
        unstated=_PARTICIPANT_RULES,
    ),
    Route(
        "POST /referrals/{reference}/erase",
        "scheduling",
        "Erase the referral's personal data (managers only) where the rules allow it (never accepted, or withdrawn "
        "with no plan in force); ids, states, dates and the audit trail stay",
        body="shared.service.erasure:ErasureRequest",
        responses={
            "200": "Erased: how many items",
            "403": "Not a manager: only managers export or erase a referral's records",
            "404": "No referral with this reference",
            "409": "Erasure does not apply to this referral, and why",
            "422": "The ground is missing or not one of the list",
        },
        parameters=(REFERENCE,),
        answers={"200": "shared.web.answers:Erased"},
    ),
    Route(
        "POST /referrals/{reference}/reviews",
        "scheduling",
        "Record the open review: continue, adjust the support package, or close the plan; opens the next review",
        body="shared.service.reviews:ReviewRequest",
        responses={**_CHANGE, "422": "Problems to fix, field by field (dates, a package for adjust)"},
        parameters=(REFERENCE, IF_MATCH),
        answers={"200": "shared.web.answers:ReviewRecorded"},
        unstated=(
            "continue keeps the package and names the next review; adjust gives the package and the "
            "next review; close gives neither; dates are in order and within three months; partners "
            "newly named have their consent answer"
        ),
    ),
    Route(
        "PUT /referrals/{reference}/reviews/{number}",
        "scheduling",
        "Move an open review to another date, with a reason (its reminder moves with it)",
        body="shared.service.reviews:ReviewMove",
        responses={
            **_CHANGE,
            "404": "No referral with this reference, or no such review",
            "409": "Illegal or stale, or the review is no longer open",
        },
        parameters=(REFERENCE, REVIEW_NUMBER, IF_MATCH),
        answers={"200": "shared.web.answers:ReviewMoved"},
        unstated="the new date is after today and within three months of the last review or the meeting",
    ),
    # A plan's support package items (functions/scheduling/routes/plan_items.py, shared/service/approvals.py): an
    # item over the approval limit, or a new item of a package over the total limit, is `requested` (waiting for a
    # manager's approval); the others are `approved` as recorded; an approved item is `delivered` with its cost.
    *(
        Route(
            f"POST /referrals/{{reference}}/plan/items/{{number}}/{action}",
            "scheduling",
            summary,
            body=body,
            responses={
                **_CHANGE,
                "200": "The item as it now stands (changed: false when it already was: nothing was done again)",
                "403": forbidden,
                "404": "No referral with this reference, or no such item in its plan",
                "409": "Illegal or stale: the plan is not in force, the referral changed since it was read, or "
                "the item is not in a state that allows it (" + conflict + ")",
            },
            parameters=(REFERENCE, ITEM_NUMBER, IF_MATCH),
            answers={"200": "shared.web.answers:PackageItemChange"},
            unstated=unstated,
        )
        for action, summary, body, forbidden, conflict, unstated in (
            (
                "approve",
                "A manager approves a support package item waiting for approval (audited; the coordinators are told)",
                None,
                "Not a manager: only managers approve spending",
                "declined or delivered already",
                "",
            ),
            (
                "decline",
                "A manager declines a support package item waiting for approval, with the reason (shown on the case "
                "page, never in the event or the email)",
                "shared.domain.plans:PackageDecline",
                "Not a manager: only managers decline spending",
                "approved or delivered already",
                "",
            ),
            (
                "delivery",
                "Record an approved item delivered: its actual cost, supplier and date (for the spend figures)",
                "shared.domain.plans:Delivery",
                "Not a coordinator",
                "waiting for approval, declined, or delivered already with other details",
                "the delivery date is today or earlier, and not before the plan was agreed",
            ),
        )
    ),
    # The staff console: pages for people, signed in through Cognito's managed login into a session cookie (no
    # JWT authorizer: the function checks the session, and every form's CSRF token and Origin).
    *(
        Route(
            key,
            "console",
            summary,
            staff=False,
            responses=responses,
            parameters=parameters,
            media_types=_FORM,
            pages=True,
            unstated=_UNSTATED.get(key, ""),
            unstated_status="400",
            answers={"200": _DOWNLOADS[key]} if key in _DOWNLOADS else {},
        )
        for key, summary, responses, parameters in (
            ("GET /staff", "The work list: what needs doing now", _PAGE, ()),
            ("GET /staff/sign-in", "Starts the sign-in (redirects to the managed login)", _SIGN_IN, ()),
            ("GET /staff/search", "Find a referral by reference, postcode or surname", _PAGE, ()),
            ("GET /staff/callback", "Where the managed login returns: starts the session", _CALLBACK, _CALLBACK_QUERY),
            ("POST /staff/sign-out", "Ends the session and the managed login's", _POSTED, ()),
            ("GET /staff/signed-out", "Signed out", {"200": "The page"}, ()),
            ("GET /staff/referrals/{reference}", "A referral's case page", _PAGE, (REFERENCE,)),
            ("POST /staff/referrals/{reference}/accept", "Accept the referral", _POSTED, (REFERENCE,)),
            ("POST /staff/referrals/{reference}/assign", "Name the referral's coordinator", _POSTED, (REFERENCE,)),
            ("POST /staff/referrals/{reference}/notes", "Add a case note", _POSTED, (REFERENCE,)),
            ("GET /staff/referrals/{reference}/decline", "The decline form", _PAGE, (REFERENCE,)),
            ("POST /staff/referrals/{reference}/decline", "Decline the referral, with a reason", _POSTED, (REFERENCE,)),
            ("GET /staff/referrals/{reference}/withdraw", "The withdraw form", _PAGE, (REFERENCE,)),
            (
                "POST /staff/referrals/{reference}/withdraw",
                "Withdraw the referral, with a reason",
                _POSTED,
                (REFERENCE,),
            ),
            (
                "GET /staff/referrals/{reference}/meeting",
                "The meeting form: book (a proposed slot) or move",
                _PAGE,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/meeting",
                "Book or move the meeting (a first booking waits for the preparation checklist)",
                _POSTED,
                (REFERENCE,),
            ),
            # Preparing for the meeting (functions/console/preparation.py)
            (
                "GET /staff/referrals/{reference}/preparation",
                "Preparation: contacts, the family's decision, the checklist, the children's voices",
                _PAGE,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/preparation/contacts",
                "Record a visit or a call",
                _CHANGE_POSTED,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/preparation/decision",
                "Record the family's decision (not going ahead closes the referral)",
                _CHANGE_POSTED,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/preparation/checklist",
                "Tick or untick the preparation checklist",
                _CHANGE_POSTED,
                (REFERENCE,),
            ),
            (
                "GET /staff/referrals/{reference}/children/{child}/voice",
                "A child's voice: the form",
                {**_PAGE, "404": "No such referral, or no such child on it"},
                (REFERENCE, CHILD),
            ),
            (
                "POST /staff/referrals/{reference}/children/{child}/voice",
                "Record a child's voice",
                {**_CHANGE_POSTED, "404": "No such referral, or no such child on it"},
                (REFERENCE, CHILD),
            ),
            ("GET /staff/referrals/{reference}/meeting/cancel", "The cancel-meeting form", _PAGE, (REFERENCE,)),
            (
                "POST /staff/referrals/{reference}/meeting/cancel",
                "Cancel the meeting, with a reason",
                _POSTED,
                (REFERENCE,),
            ),
            # The meeting's outcome and plan, and the plan's reviews (functions/console/outcomes.py, reviews.py)
            (
                "GET /staff/referrals/{reference}/outcome",
                "The outcome form: held with the plan agreed, or not held with the reason",
                _PAGE,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/outcome",
                "Record the meeting's outcome and plan (or add and remove the form's rows)",
                _OUTCOME_POSTED,
                (REFERENCE,),
            ),
            (
                "GET /staff/referrals/{reference}/reviews",
                "The review form: continue, adjust the support package, or close the plan",
                _PAGE,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/reviews",
                "Record the open review (or add and remove the package's rows)",
                _OUTCOME_POSTED,
                (REFERENCE,),
            ),
            (
                "GET /staff/referrals/{reference}/reviews/{number}/move",
                "The form to move an open review",
                {**_PAGE, "404": "No such referral, or no such review"},
                (REFERENCE, REVIEW_NUMBER),
            ),
            (
                "POST /staff/referrals/{reference}/reviews/{number}/move",
                "Move an open review to another date, with a reason",
                {**_OUTCOME_POSTED, "404": "No such referral, or no such review", "409": _REVIEW_GONE},
                (REFERENCE, REVIEW_NUMBER),
            ),
            # A meeting's participants (functions/console/participants.py)
            (
                "GET /staff/referrals/{reference}/participants/new",
                "The form to add a participant to the meeting",
                _PAGE,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/participants/new",
                "Add a participant (sent the invitation by email where they can be)",
                {**_POSTED, "404": "No such referral", "409": "The referral is no longer open, or changed meanwhile"},
                (REFERENCE,),
            ),
            (
                "GET /staff/referrals/{reference}/participants/{participant_id}",
                "A participant's details, to change, or to exclude with a reason",
                {**_PAGE, "404": "No such referral, or no such participant"},
                (REFERENCE, PARTICIPANT_ID),
            ),
            (
                "POST /staff/referrals/{reference}/participants/{participant_id}",
                "Change a participant (or exclude them, with a reason)",
                {
                    **_POSTED,
                    "404": "No such referral, or no such participant",
                    "409": "Changed by someone else since it was read: the form again, as it now stands",
                },
                (REFERENCE, PARTICIPANT_ID),
            ),
            # A referral's connections with partners (functions/console/connections.py)
            (
                "GET /staff/referrals/{reference}/connections/{partner_id}",
                "A partner's connection: record its answer given by phone, or ask it again",
                {**_PAGE, "404": "No such referral, or no connection with that partner"},
                (REFERENCE, PARTNER_ID),
            ),
            (
                "POST /staff/referrals/{reference}/connections/{partner_id}",
                "Record a partner's answer given by phone (audited as yours)",
                _CONNECTION_POSTED,
                (REFERENCE, PARTNER_ID),
            ),
            (
                "POST /staff/referrals/{reference}/connections/{partner_id}/resend",
                "Ask a waiting partner again: a new email and link",
                _CONNECTION_POSTED,
                (REFERENCE, PARTNER_ID),
            ),
            # The plan's agreement by the lead practitioner, recorded for them (functions/console/agreement.py)
            (
                "GET /staff/referrals/{reference}/plan/agreement",
                "The form to record the lead practitioner's answer to the plan",
                _PAGE,
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/plan/agreement",
                "Record the lead practitioner's answer to the plan: agreed, or changes asked (audited as yours)",
                {
                    **_POSTED,
                    "409": "The plan is not waiting for agreement, or changed meanwhile: the case page says why",
                },
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/plan/agreement/again",
                "Send the plan for agreement again: a new email and link (the last link closes)",
                {
                    **_POSTED,
                    "409": "The plan is not waiting for agreement, or changed meanwhile: the case page says why",
                },
                (REFERENCE,),
            ),
            # The plan as a PDF, and each recipient's link to its page (functions/console/plan_links.py)
            (
                "GET /staff/referrals/{reference}/plan/document",
                "The family's plan as a PDF, as its recipients download it (recorded as a read)",
                {**_PAGE, "404": "No such referral, or no plan yet"},
                (REFERENCE,),
            ),
            (
                "POST /staff/referrals/{reference}/plan/links/{link_id}/revoke",
                "Close one recipient's link to the plan's page: it shows nothing from now on (audited)",
                {
                    **_POSTED,
                    "404": "No such referral, or no such link",
                    "409": "The referral changed since it was read: the case page as it now stands, with the reason",
                },
                (REFERENCE, LINK_ID),
            ),
            # Privacy actions, for managers only (functions/console/privacy.py)
            (
                "GET /staff/referrals/{reference}/export",
                "Subject access: everything held about the referral, as a page (recorded as a read)",
                _MANAGERS_PAGE,
                (REFERENCE,),
            ),
            (
                "GET /staff/referrals/{reference}/export/download",
                "Subject access: the same, as a JSON download (recorded as a read)",
                _MANAGERS_PAGE,
                (REFERENCE,),
            ),
            ("GET /staff/referrals/{reference}/erase", "The erasure form: its ground", _MANAGERS_PAGE, (REFERENCE,)),
            (
                "POST /staff/referrals/{reference}/erase",
                "Erase the referral's personal data on its ground, where the rules allow it",
                {
                    **_POSTED,
                    "403": "Not a manager, not signed in, or without the form's CSRF token, or from another site",
                    "409": "Erasure does not apply to this referral: the case page says why",
                },
                (REFERENCE,),
            ),
            # Support package spending (functions/console/approvals.py)
            (
                "GET /staff/approvals",
                "Support package items waiting for a manager's approval, oldest first (managers)",
                {**_PAGE, "400": "A cursor this service did not give", "403": "Not a manager, or in no staff group"},
                _CURSOR,
            ),
            (
                "GET /staff/referrals/{reference}/plan/items/{number}/approval",
                "A support package item, to approve or decline with a reason (managers; a read of the case)",
                {**_ITEM_PAGE, "403": "Not a manager, or in no staff group"},
                _ITEM,
            ),
            (
                "POST /staff/referrals/{reference}/plan/items/{number}/approve",
                "Approve a support package item waiting for approval (managers)",
                _DECISION_POSTED,
                _ITEM,
            ),
            (
                "POST /staff/referrals/{reference}/plan/items/{number}/decline",
                "Decline a support package item waiting for approval, with the reason (managers)",
                _DECISION_POSTED,
                _ITEM,
            ),
            (
                "POST /staff/referrals/{reference}/plan/items/{number}/delivery",
                "Record an approved item's delivery: actual cost, supplier, date (from the case page)",
                {**_ITEM_POSTED, "422": "The case page again, with what to fix in the item's delivery form"},
                _ITEM,
            ),
            # The managers' figures (functions/console/reports.py)
            ("GET /staff/reports", "Figures for a month or a quarter, for managers", _REPORT_PAGE, _PERIOD),
            ("GET /staff/reports/download", "The same figures as a CSV file", _REPORT_PAGE, _PERIOD),
            # Facilitators and partners (functions/console/directory.py)
            ("GET /staff/facilitators", "Facilitators: names, localities and weekly hours", _PAGE, ()),
            ("GET /staff/facilitators/new", "The form to add a facilitator", _PAGE, ()),
            ("POST /staff/facilitators/new", "Add a facilitator (waiting referrals get proposals again)", _POSTED, ()),
            (
                "GET /staff/facilitators/{facilitator_id}",
                "A facilitator's details, to change",
                _DIRECTORY_PAGE,
                (FACILITATOR,),
            ),
            (
                "POST /staff/facilitators/{facilitator_id}",
                "Change a facilitator (waiting referrals get proposals again)",
                _DIRECTORY_POSTED,
                (FACILITATOR,),
            ),
            (
                "GET /staff/partners",
                "The partner directory, by offer and locality",
                {**_PAGE, "400": "offer is not one of the vocabulary, or the locality is over 60 characters"},
                _DIRECTORY_QUERY,
            ),
            ("GET /staff/partners/new", "The form to add a partner", _PAGE, ()),
            ("POST /staff/partners/new", "Add a partner to the directory", _POSTED, ()),
            ("GET /staff/partners/{partner_id}", "A partner's details, to change", _DIRECTORY_PAGE, (PARTNER_ID,)),
            ("POST /staff/partners/{partner_id}", "Change a partner's details", _DIRECTORY_POSTED, (PARTNER_ID,)),
            (
                "POST /staff/partners/{partner_id}/deactivate",
                "Take a partner out of the directory",
                _DIRECTORY_POSTED,
                (PARTNER_ID,),
            ),
            (
                "POST /staff/partners/{partner_id}/activate",
                "Put a partner back in the directory",
                _DIRECTORY_POSTED,
                (PARTNER_ID,),
            ),
        )
    ),
)


BY_KEY = {route.key: route for route in ROUTES}


def methods_at(path: str) -> tuple[str, ...]:
    """The methods the API serves at `path`, for a 405's `Allow` (none: it serves nothing there)."""
    return tuple(sorted({route.method for route in ROUTES if route.pattern.match(path)}))


_registered: set[str] = set()


def served_by(function: str) -> tuple[Route, ...]:
    return tuple(route for route in ROUTES if route.function == function)


def keys(function: str, *, staff: bool | None = None) -> tuple[str, ...]:
    return tuple(r.key for r in served_by(function) if staff is None or r.staff is staff)


def register(resolver: Any, key: str) -> Callable[[F], F]:
    """`@register(router, "GET /referrals/{reference}")`: the route as the table has it (KeyError if it does not)."""
    route = BY_KEY[key]
    _registered.add(key)
    decorator: Callable[[F], F] = getattr(resolver, route.method.lower())(route.resolver_path)
    return decorator


def check_served(function: str) -> None:
    """Called once a function's routes are registered: a route of the table it does not serve fails its init."""
    missing = sorted(set(keys(function)) - _registered)
    if missing:
        raise RuntimeError(f"functions/{function} serves no handler for {', '.join(missing)}")
