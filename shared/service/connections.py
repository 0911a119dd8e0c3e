"""Connecting a family with the community partners its plan names (issue 10), and the partners' answers.

When a plan is agreed, or a review changes its package, each partner it newly names gets a connection item
(`CONNECTION#<partner id>`, in the referral's partition) and a ConnectionRequested event, in the same transaction as
the plan: the feedback function then emails the partner once, with a signed, expiring link. The partner answers
through that link (no login): made contact, or declines. The answer is a conditional write on the connection
(still `requested`, and the same round as the link), so a reused, stale or forged link changes nothing.

A link carries ids only: the reference, the partner and the connection's round (`connection_id`); its key is read
from Secrets Manager at run time and kept for five minutes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.adapters import secrets, table
from shared.adapters.dynamodb import Cancelled, ReferralReader, condition_check, put, transact, update
from shared.config import Settings
from shared.domain import clock, links
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.errors import ConfigurationError, Conflict, Invalid, NotFound, Refused
from shared.domain.events import ConnectionAnswered, ConnectionRequested, new_event
from shared.domain.referrals import STATED
from shared.domain.working_days import add_working_days
from shared.service.changes import CurrentState, audit_entry, current_state
from shared.service.outbox import outbox_item
from shared.service.retention import inherited

KIND_CONNECTION = "connection"
CHASE_CLOCK = "partner_answer"  # a waiting connection is in the deadline index until answered, ended or chased
NOT_WAITING = (table.DEADLINE_INDEX_PK, table.DEADLINE_INDEX_SK)
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=STATED)]
ANSWERS = {"contacted": "made contact with the family", "declined": "declined"}


def connection_key(reference: str, partner_id: str) -> dict[str, str]:
    return {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: f"CONNECTION#{partner_id}"}


class UnknownPartner(Invalid):
    """A plan names a partner that is not in the directory, or no longer active: the coordinator picks another."""

    def __init__(self, partner_id: str) -> None:
        problem = f"{partner_id} is not an active partner in the directory: choose one from GET /partners"
        super().__init__("The plan has problems to fix", [{"field": "partner_id", "message": problem}])
        self.partner_id = partner_id


@dataclass(frozen=True)
class ConnectionWrites:
    """The writes that start (or end) connections, in the caller's transaction, and the partners they are for."""

    writes: list[Any]
    partner_ids: list[str]


def request_connections(
    reference: str,
    newly_named: set[str],
    *,
    consents: dict[str, bool],
    existing: list[dict[str, Any]],
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> ConnectionWrites:
    """For each newly named partner: a check that it is still active, its connection (a new round when it was
    connected before), and its ConnectionRequested event: all in the caller's transaction."""
    by_partner = {item["partner_id"]: item for item in existing if item.get(table.KIND_ATTRIBUTE) == KIND_CONNECTION}
    pk = table.referral_pk(reference)
    writes: list[Any] = []
    for partner_id in sorted(newly_named):
        partner = reader.item(table.partner_key(partner_id))
        if partner is None or not partner.get("active"):
            raise UnknownPartner(partner_id)
        writes.append(
            condition_check(table.partner_key(partner_id), settings.table_name, "active = :yes", values={":yes": True})
        )
        before = by_partner.get(partner_id)
        connection_id = "C" + uuid.uuid4().hex[:16]
        requested_on = now.astimezone(LONDON).date()
        answer_due_on = add_working_days(requested_on, settings.partner_answer_working_days)
        item = {
            **connection_key(reference, partner_id),
            table.KIND_ATTRIBUTE: KIND_CONNECTION,
            "reference": reference,
            "partner_id": partner_id,
            "partner_name": partner["name"],  # as the directory had it when asked (an organisation's name)
            "connection_id": connection_id,
            "round": int(before["round"]) + 1 if before else 1,
            "status": "requested",
            "share_contact_name": consents.get(partner_id, False),
            "requested_at": clock.iso(now),
            "requested_on": requested_on.isoformat(),
            "answer_due_on": answer_due_on.isoformat(),
            table.DEADLINE_INDEX_PK: table.DEADLINE_RUNNING,
            table.DEADLINE_INDEX_SK: f"{answer_due_on.isoformat()}#{reference}#{CHASE_CLOCK}#{partner_id}",
        }
        if before:  # a new round, only over the round as it was read (not answered or ended since)
            again = put(
                item,
                settings.table_name,
                "connection_id = :read AND #status = :read_status",
                {":read": before["connection_id"], ":read_status": before["status"]},
                names={"#status": "status"},
            )
            writes.append(again)
        else:
            writes.append(put(item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"))
        event = ConnectionRequested(
            reference=reference,
            partner_id=partner_id,
            connection_id=connection_id,
            requested_on=requested_on,
        )
        envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
        writes.append(
            put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name)
        )
    return ConnectionWrites(writes, sorted(newly_named))


def update_waiting(
    connection: dict[str, Any], sets: dict[str, Any], *, settings: Settings, unanswered: bool = False
) -> Any:
    """An Update of a connection only while it still waits for an answer in the round that was read; it leaves the
    daily check's part of the deadline index (answered, ended, or chased: nothing for it to read again). A chased one
    (`unanswered`) moves to the index's "unanswered" partition, which the console lists until the partner answers."""
    return update(
        connection_key(str(connection["reference"]), str(connection["partner_id"])),
        settings.table_name,
        {**sets, **({table.DEADLINE_INDEX_PK: table.DEADLINE_UNANSWERED} if unanswered else {})},
        remove=() if unanswered else NOT_WAITING,
        condition="connection_id = :c AND #status = :requested",
        names={"#status": "status"},
        values={":c": connection["connection_id"], ":requested": "requested"},
    )


def end_connections(
    reference: str, dropped: set[str], *, existing: list[dict[str, Any]], settings: Settings, now: datetime
) -> ConnectionWrites:
    """Partners a review drops from the plan (or all of them, when it closes the plan) whose answer is still awaited:
    their connections end, so their links answer "no longer open" and an email not yet sent is not sent."""
    waiting = [
        item
        for item in existing
        if item.get(table.KIND_ATTRIBUTE) == KIND_CONNECTION
        and item["partner_id"] in dropped
        and item.get("status") == "requested"
    ]
    waiting.sort(key=lambda i: str(i["partner_id"]))
    writes = [
        update_waiting(item, {"status": "ended", "ended_at": clock.iso(now)}, settings=settings) for item in waiting
    ]
    return ConnectionWrites(writes, [str(item["partner_id"]) for item in waiting])


def _still_open(reference: str, settings: Settings) -> Any:
    """A transaction's check that the referral has not been withdrawn meanwhile."""
    return condition_check(
        {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"},
        settings.table_name,
        "#status <> :withdrawn",
        names={"#status": "status"},
        values={":withdrawn": "withdrawn"},
    )


def connections_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = (
        "partner_id",
        "partner_name",
        "status",
        "round",
        "share_contact_name",
        "requested_at",
        "answered_at",
        "answer_due_on",
        "chased_on",
        "ended_at",
        "note",
    )
    found = [i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_CONNECTION]
    return [{key: c[key] for key in keys if key in c} for c in sorted(found, key=lambda c: c[table.SORT_KEY])]


# --- links ------------------------------------------------------------------------------------------------------
def link_key(settings: Settings) -> bytes:
    """The deployment's link key (Secrets Manager, kept for five minutes)."""
    if not settings.link_key_secret_arn:
        raise ConfigurationError("LINK_KEY_SECRET_ARN is not set: partners' links cannot be signed or checked")
    return secrets.link_key(settings.link_key_secret_arn)


def redacted(text: str, link: str) -> str:
    """An email's text as it is kept (for subject access): without the link, which would let its reader answer."""
    return text.replace(link, "[the partner's answer link: not kept]")


def link_valid_for(settings: Settings) -> timedelta:
    return timedelta(days=settings.connection_link_days)


def link_for(reference: str, partner_id: str, connection_id: str, *, settings: Settings, now: datetime) -> str:
    """The partner's answer link, signed at `now`: it works for `link_valid_for(settings)` from then."""
    token = links.sign(
        {"r": reference, "p": partner_id, "c": connection_id},
        purpose="connection",
        key=link_key(settings),
        now=now,
        valid_for=link_valid_for(settings),
    )
    return f"{settings.public_url.rstrip('/')}/connections/{token}"


# --- the partner's answer ---------------------------------------------------------------------------------------
class ConnectionAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    answer: Literal["contacted", "declined"] = Field(
        title="contacted: the partner has made contact with the family; declined: it cannot help"
    )
    note: Note | None = Field(default=None, title="anything the coordinator should know (optional)")


LinkRefusal = Literal["invalid", "answered", "expired", "ended"]


class LinkProblem(Refused):
    """Why a link changes nothing, as a page says it: `reason` (invalid, answered, expired or ended), a title and
    what to do."""

    def __init__(self, reason: LinkRefusal, title: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.title = reason, title


@dataclass(frozen=True)
class Connection:
    reference: str
    partner_id: str
    connection_id: str
    partner_name: str
    status: str
    expires_at: datetime
    retention: dict[str, Any]  # the referral's expiry, once it has ended: what the answer's audit entry inherits
    # What the page behind the link shows, never an email: what was agreed with this partner, and the family
    # contact's name only where the family agreed to share it with this partner.
    agreed: tuple[str, ...] = ()
    family_name: str = ""
    referral: dict[str, Any] | None = None  # as read, for the read audit of the page that shows the above


def agreed_with(plan: dict[str, Any], partner_id: str) -> list[str]:
    """The plan's network actions and package items that name this partner, as the partner's page lists them."""
    return [
        " ".join(filter(None, [str(action["what"]), f"({action['how_often']})" if action.get("how_often") else ""]))
        for action in plan.get("network_actions", [])
        if action.get("partner_id") == partner_id
    ] + [
        f"{item['description']} ({item['category']})"
        for item in plan.get("support_package", [])
        if item.get("partner_id") == partner_id
    ]


def _problem(reason: str, settings: Settings) -> LinkProblem:
    ask = f"If you need to tell us something, email the Family Network coordinators at {settings.coordinators_email}."
    if reason == "expired":
        return LinkProblem("expired", "This link has expired", f"Links in our emails work for a limited time. {ask}")
    if reason == "answered":
        return LinkProblem(
            "answered", "You have already answered", f"Your answer was recorded: nothing has changed. {ask}"
        )
    if reason == "ended":
        return LinkProblem(
            "ended", "This request is no longer open", f"The family's plan has changed since we emailed you. {ask}"
        )
    return LinkProblem(
        "invalid", "This link is not valid", f"Check that you used the whole link from our email, as it was sent. {ask}"
    )


def open_link(token: str, *, reader: ReferralReader, settings: Settings, now: datetime) -> Connection:
    """The connection a link is for, while it may still be answered; LinkProblem otherwise. Reads only: a GET
    (an email scanner following the link) never answers."""
    try:
        claims = links.verify(token, purpose="connection", key=link_key(settings), now=now)
    except links.LinkRefused as refused:
        raise _problem(refused.reason, settings) from None
    reference, partner_id, connection_id = (str(claims.get(k, "")) for k in ("r", "p", "c"))
    if not (reference and partner_id and connection_id):
        raise _problem("malformed", settings)
    item = reader.item(connection_key(reference, partner_id))
    referral = reader.item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"})
    plan = reader.item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "PLAN"})
    if item is None or referral is None or referral.get("erased"):
        raise _problem("malformed", settings)
    if item["connection_id"] != connection_id or item["status"] == "ended" or referral.get("status") == "withdrawn":
        raise _problem("ended", settings)
    if item["status"] != "requested":
        raise _problem("answered", settings)
    return Connection(
        reference=reference,
        partner_id=partner_id,
        connection_id=connection_id,
        partner_name=str(item.get("partner_name", "")),
        status=str(item["status"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=LONDON),
        retention=inherited(referral),
        agreed=tuple(agreed_with(plan or {}, partner_id)),
        family_name=str(((referral.get("submission") or {}).get("family") or {}).get("contact_name") or "")
        if item.get("share_contact_name")
        else "",
        referral=referral,
    )


def answer(
    connection: Connection,
    body: ConnectionAnswer,
    *,
    settings: Settings,
    correlation_id: str,
    now: datetime,
    actor: Actor | None = None,
) -> Connection:
    """Record the partner's answer to a connection its link opened: the connection, an audit entry and
    ConnectionAnswered in one transaction, conditional on the connection still waiting for this link's round and
    the referral not withdrawn (whatever happened since the link was opened)."""
    reference, partner_id = connection.reference, connection.partner_id
    at = clock.iso(now)
    values: dict[str, Any] = {"status": body.answer, "answered_at": at}
    if body.note:
        values["note"] = body.note
    opened = {"reference": reference, "partner_id": partner_id, "connection_id": connection.connection_id}
    record = update_waiting(opened, values, settings=settings)
    record["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"  # answered, or replaced, since it was read
    still_open = _still_open(reference, settings)
    event = ConnectionAnswered(
        reference=reference,
        partner_id=partner_id,
        connection_id=connection.connection_id,
        answer=body.answer,
        answered_at=now,
    )
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    audit = audit_entry(
        reference,
        at=at,
        actor=actor or Actor(subject=partner_id, role="partner"),  # or a coordinator recording it for them
        action=f"connection.{body.answer}",
        changes={"connection": {"partner_id": partner_id, "from": "requested", "to": body.answer}},
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    retention = connection.retention  # an answer about an ended referral expires with it
    pk = table.referral_pk(reference)
    try:
        transact(
            [
                record,
                still_open,
                put({**audit, **retention}, settings.table_name),
                put(
                    {**outbox_item(pk, envelope, event.detail_type, now=now, settings=settings)},
                    settings.table_name,
                ),
            ],
            settings.table_name,
        )
    except Cancelled as cancelled:
        now_stored = cancelled.old_item(0) or {}
        if cancelled.failed(1) or now_stored.get("connection_id") != connection.connection_id:
            raise _problem("ended", settings) from None  # withdrawn, or a review replaced or ended this request
        if now_stored.get("status") == "ended":
            raise _problem("ended", settings) from None
        raise _problem("answered", settings) from None  # another answer (a double click) was recorded first
    return replace(connection, status=body.answer)


# --- the coordinators' side -------------------------------------------------------------------------------------
def _waiting(current: CurrentState, partner_id: str) -> dict[str, Any]:
    """The referral's connection with the partner, still waiting for an answer; 404 or 409 (with why) otherwise."""
    item = next((i for i in current.items if i[table.SORT_KEY] == f"CONNECTION#{partner_id}"), None)
    if item is None:
        raise NotFound("This referral has no connection with that partner")
    if current.referral.get("status") == "withdrawn":
        raise Conflict("The referral was withdrawn: its connections are closed")
    if item["status"] != "requested":
        raise Conflict(f"The partner's connection is {item['status']}, not waiting for an answer: no change")
    return item


def record_for_partner(
    reference: str,
    partner_id: str,
    body: ConnectionAnswer,
    *,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> dict[str, Any]:
    """A coordinator records the partner's answer given another way (a phone call): as if through the link, audited
    with the coordinator as the actor; the partner's link then says it was answered."""
    current = current_state(reader, reference)
    item = _waiting(current, partner_id)
    opened = Connection(
        reference=reference,
        partner_id=partner_id,
        connection_id=str(item["connection_id"]),
        partner_name=str(item.get("partner_name", "")),
        status=str(item["status"]),
        expires_at=now,
        retention=inherited(current.referral),
    )
    try:
        answer(opened, body, settings=settings, correlation_id=correlation_id, now=now, actor=actor)
    except LinkProblem:
        raise Conflict(
            "The connection changed meanwhile (the partner answered, or it was asked again): reload it"
        ) from None
    return _one(reader, reference, partner_id)


def resend(
    reference: str,
    partner_id: str,
    *,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Ask a waiting partner again (its address was corrected after a bounce, or its email was lost): a new round,
    a new email and link; the earlier link closes. The family's answer on sharing their name stays as given."""
    current = current_state(reader, reference)
    item = _waiting(current, partner_id)
    try:
        connected = request_connections(
            reference,
            {partner_id},
            consents={partner_id: bool(item.get("share_contact_name"))},
            existing=current.items,
            reader=reader,
            settings=settings,
            correlation_id=correlation_id,
            now=now,
        )
    except UnknownPartner:
        raise Invalid(
            "The partner is no longer active in the directory: make it active again (PUT /partners/{id}) to ask it "
            "again, or name another partner at the next review",
        ) from None
    at = clock.iso(now)
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="connection.resent",
        changes={"connection": {"partner_id": partner_id, "round": {"from": item["round"], "to": item["round"] + 1}}},
        event_id=uuid.uuid4().hex,
        cid=correlation_id,
    )
    try:
        transact(
            [*connected.writes, _still_open(reference, settings), put(audit, settings.table_name)], settings.table_name
        )
    except Cancelled:
        raise Conflict("The connection changed meanwhile (answered, or asked again): reload it") from None
    return _one(reader, reference, partner_id)


def _one(reader: ReferralReader, reference: str, partner_id: str) -> dict[str, Any]:
    [shown] = connections_view([reader.item(connection_key(reference, partner_id)) or {}])
    return shown
