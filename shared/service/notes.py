"""Case notes: a coordinator's free text on a referral, kept in its partition (so retention and erasure treat it as
the case's own) and audited by id: the text never reaches an event, a log line or the audit entry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, condition_check, put, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Invalid
from shared.domain.referrals import ReferralNotFound, check_reference
from shared.service.changes import audit_entry
from shared.service.retention import inherited

KIND_NOTE = "note"
MAX_NOTE = 5000


def add_note(
    reference: str,
    text: str,
    *,
    actor: Actor,
    author: str,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        message = "Enter the note" if not text else f"A note must be {MAX_NOTE} characters or fewer"
        raise Invalid("The note has a problem to fix", [{"field": "note", "message": message}])
    referral = reader.referral(check_reference(reference))
    if referral is None:
        raise ReferralNotFound(reference)
    now = now or clock.now()
    at = clock.iso(now)
    note_id = uuid.uuid4().hex[:12]
    pk = table.referral_pk(reference)
    note = {
        **inherited(referral),
        table.PARTITION_KEY: pk,
        table.SORT_KEY: f"NOTE#{at}#{note_id}",
        table.KIND_ATTRIBUTE: KIND_NOTE,
        "reference": reference,
        "note_id": note_id,
        "at": at,
        "actor": actor.audit_name,
        "author": author,
        "text": text,
    }
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="note.added",
        changes={"note": note_id},
        event_id=note_id,
        cid=correlation_id,
    )
    exists = f"attribute_exists({table.PARTITION_KEY})"
    try:
        transact(
            [
                condition_check({table.PARTITION_KEY: pk, table.SORT_KEY: "REFERRAL"}, settings.table_name, exists),
                put(note, settings.table_name),
                put({**audit, **inherited(referral)}, settings.table_name),
            ],
            settings.table_name,
        )
    except Cancelled:
        raise ReferralNotFound(reference) from None
    return {"reference": reference, "note_id": note_id, "at": at}


def notes_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest first: who wrote what, when."""
    notes = [i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_NOTE]
    return [
        {key: note.get(key) for key in ("note_id", "at", "actor", "author", "text")}
        for note in sorted(notes, key=lambda n: str(n[table.SORT_KEY]), reverse=True)
    ]
