"""Subject access (UK GDPR Art. 15): everything held about one referral, as one JSON document and one readable page.

Everything is every item of the referral's partition, less only the table's own keys: the referral as submitted,
its decision, meetings (and each change to them, as their emails described it), their participants, proposals,
preparation (contacts, the family's decision, the checklist), each child's voice,
plan and its agreement (each request and answer, with the reasons for changes), the family's evaluations of the
meeting, reviews, connections with partners
(and their answers), every email sent (with the text that was sent), the audit trail and every staff read. The export
is itself recorded as a read (an access entry naming the export route).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader
from shared.service.changes import current_state
from shared.views.referrals import Access, record_access

_INTERNAL = table.KEY_ATTRIBUTES | {table.KIND_ATTRIBUTE}
# Sections of the export: (key, title, the item kinds it holds).
SECTIONS = (
    ("referral", "The referral", ("referral",)),
    ("meetings", "Meetings", ("meeting", "proposals")),
    ("meeting_versions", "Each change to a meeting, as its emails described it", ("meeting_version",)),
    ("participants", "Meeting participants", ("participant",)),
    (
        "preparation",
        "Preparing for the meeting: contacts, the family's decision, the checklist",
        ("preparation", "contact"),
    ),
    ("children", "The children's voices: wishes and feelings, how they take part, advocates", ("child_voice",)),
    ("plan", "Family Plan and support package", ("plan",)),
    ("agreements", "The plan's agreement by the lead practitioner (each request and answer)", ("agreement",)),
    ("plan_links", "The links to the plan's page sent to the people it is for (whose, their dates)", ("plan_link",)),
    ("evaluations", "The family's evaluations of the meeting (each respondent's answers)", ("evaluation",)),
    ("reviews", "Reviews", ("review",)),
    ("connections", "Connections with community partners", ("connection",)),
    ("emails", "Emails sent", ("email",)),
    ("audit", "Audit trail (every change)", ("audit",)),
    ("accesses", "Reads of this record", ("access",)),
    ("deadlines", "Deadline clocks", ("clock",)),
)
# copies of events (ids and dates only), kept a week for the relay; the participants' roster (a version number)
_LEFT_OUT = {"outbox_event", "participant_roster"}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    values = {key: value for key, value in item.items() if key not in _INTERNAL}
    if table.TTL_ATTRIBUTE in values:
        values[table.TTL_ATTRIBUTE] = datetime.fromtimestamp(int(values[table.TTL_ATTRIBUTE]), UTC).isoformat()
    plain: dict[str, Any] = json.loads(json.dumps(values, default=_as_json))
    return plain


def _as_json(value: Any) -> Any:
    """DynamoDB's numbers and sets as JSON has them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def export(reader: ReferralReader, reference: str, access: Access) -> dict[str, Any]:
    current = current_state(reader, reference)
    referral, items = current.referral, current.items
    this_export = record_access(referral, access)
    expires = referral.get(table.TTL_ATTRIBUTE)
    document: dict[str, Any] = {
        "reference": reference,
        "exported_at": this_export["at"],
        "exported_by": this_export["actor"],
        "retention": (
            f"until {datetime.fromtimestamp(int(expires), UTC).date().isoformat()}"
            if expires is not None
            else "while the referral is open, then by the retention rule (docs/data-protection.md)"
        ),
    }
    for key, _title, kinds in SECTIONS:
        found = sorted(
            (_plain(i) for i in items if i.get(table.KIND_ATTRIBUTE) in kinds),
            key=lambda i: str(i.get("at") or i.get("created_at") or i.get("review_number") or ""),
        )
        document[key] = found[0] if key in ("referral", "plan") and found else found
    document["accesses"].append(this_export)
    kinds_shown = {kind for _key, _title, kinds in SECTIONS for kind in kinds} | _LEFT_OUT
    document["other"] = [_plain(i) for i in items if i.get(table.KIND_ATTRIBUTE) not in kinds_shown]
    return document
