"""The read side of a family's plan as the people it is for read it (the lead practitioner's agreement page, the plan
page and its document): who does what, the support package and where it stands, the next review, in words; no
costs, no partner ids, no one's address."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader
from shared.domain.plans import named_partners

CATEGORIES = {"item": "An item", "service": "A service", "equipment": "Equipment"}
STATUSES = {
    "requested": "Asked for",
    "approved": "Approved",
    "delivered": "Delivered",
    "declined": "Not approved",
}


def partner_names(reader: ReferralReader, plan: dict[str, Any]) -> dict[str, str]:
    """The name of each partner the plan names, as the directory has it (one read each; at most ten)."""
    found = {}
    for partner_id in sorted(named_partners(plan.get("network_actions") or [], plan.get("support_package") or [])):
        partner = reader.item(table.partner_key(partner_id)) or {}
        found[partner_id] = str(partner.get("name") or "A community partner")
    return found


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def plan_content(
    plan: dict[str, Any], *, held_on: date | None, partners: dict[str, str], reference: str
) -> dict[str, Any]:
    """What the plan says, for a page or a document: each action and package item in words, and the review date."""
    actions = [
        {
            "who": str(action.get("who", "")),
            "what": str(action.get("what", "")),
            "how_often": str(action.get("how_often") or ""),
            "partner": partners.get(str(action.get("partner_id")), "") if action.get("partner_id") else "",
            "by_when": _day(action.get("by_when")),
            "checked_by": str(action.get("checked_by") or ""),
        }
        for action in plan.get("network_actions") or []
    ]
    package = [
        {
            "description": str(item.get("description", "")),
            "category": CATEGORIES.get(str(item.get("category")), str(item.get("category", ""))),
            "status": STATUSES.get(str(item.get("status")), str(item.get("status", ""))),
            "partner": partners.get(str(item.get("partner_id")), "") if item.get("partner_id") else "",
        }
        for item in plan.get("support_package") or []
    ]
    return {
        "reference": reference,
        "held_on": held_on,
        "actions": actions,
        "package": package,
        "next_review_on": None
        if plan.get("plan_status") == "closed"
        else _day(plan.get("next_review_due_on") or plan.get("first_review_due_on")),
        "last_reviewed_on": _day(plan.get("last_reviewed_on")),
        "status": str(plan.get("plan_status", "")),
    }
