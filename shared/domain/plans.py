"""A Family Plan as agreed at the meeting: the network's actions, the support package, the partners named with
the family's consent, and the first review (within three months)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from shared.domain.events import PartnerId
from shared.domain.meetings import Reason, Text, _Input

REVIEW_WITHIN = timedelta(days=92)  # a support package is reviewed within three months


Cost = Annotated[int, Field(ge=0, le=10_000_000)]


MAX_PARTNERS = 10  # community partners one change may connect the family with (each is an email and a link)


class NetworkAction(_Input):
    who: Text = Field(title="who in the network")
    what: Text = Field(title="what they will do")
    how_often: Text | None = Field(default=None, title="how often")
    by_when: date | None = Field(default=None, title="the date it is done by")
    checked_by: Text | None = Field(default=None, title="who checks it is done")
    partner_id: PartnerId | None = Field(
        default=None,
        title="the community partner that does it, from the directory (its link's page quotes `what`, its email not)",
    )


PackageStatus = Literal["requested", "approved", "delivered", "declined"]
# A package item's life: requested (waiting for a manager's approval) ─approve─▶ approved ─delivery─▶ delivered
#                                                                    └decline(reason)─▶ declined
# An item within the spending limits is approved as it is recorded; the others stay requested until a manager decides.
WAITING: PackageStatus = "requested"


class PackageItem(_Input):
    category: Literal["item", "service", "equipment"] = Field(title="the kind of support")
    description: Text = Field(title="what the support is")
    estimated_cost_pence: Cost = Field(title="the estimated cost in pence")
    status: PackageStatus = Field(
        default="requested",
        title="its status",
        description="requested: waiting for a manager's approval (an item over the approval limit, or any new item "
        "of a package over the total limit); approved; delivered; declined (with a reason). Set by the service, "
        "never by a request: a new item is approved or requested by the limits, an item the plan already has "
        "(the same category, description, cost and partner) keeps its status; a status given is not read.",
    )
    partner_id: PartnerId | None = Field(
        default=None,
        title="the community partner that provides it (its link's page quotes the description; its email does not)",
    )


class PartnerConsent(_Input):
    partner_id: PartnerId = Field(title="a community partner the plan names")
    share_contact_name: bool = Field(
        title="whether the family agreed that this partner is told the family contact's name"
    )


def check_consents(named: set[str], consents: list[PartnerConsent], *, required: set[str]) -> None:
    """Every partner in `required` has the family's answer on sharing their name, given once; no answer is given
    for a partner the plan does not name."""
    given = [c.partner_id for c in consents]
    if len(set(given)) != len(given):
        raise ValueError("Give the family's answer for each partner once (partner_consent)")
    if missing := sorted(required - set(given)):
        raise ValueError(
            f"Record whether the family agreed to share their contact's name with {', '.join(missing)} "
            "(partner_consent, share_contact_name true or false)"
        )
    if unnamed := sorted(set(given) - named):
        raise ValueError(f"partner_consent names {', '.join(unnamed)}, which no action or package item names")


def named_partners(actions: list[Any], package: list[Any]) -> set[str]:
    """The partners a plan names (its actions and package items, as models or as stored)."""
    found = set()
    for entry in [*actions, *package]:
        partner_id = entry.get("partner_id") if isinstance(entry, dict) else entry.partner_id
        if partner_id:
            found.add(str(partner_id))
    return found


_LEFT_OUT_WHEN_NONE = ("partner_id", "by_when", "checked_by")  # stored only when given


def stored_entries(entries: list[NetworkAction] | list[PackageItem]) -> list[dict[str, Any]]:
    """Actions or package items as the plan stores them: a partner, a date or a checker only where one is given."""
    dumped = [entry.model_dump(mode="json") for entry in entries]
    return [{k: v for k, v in entry.items() if not (k in _LEFT_OUT_WHEN_NONE and v is None)} for entry in dumped]


class Plan(_Input):
    network_actions: list[NetworkAction] = Field(default_factory=list, title="the network's actions", max_length=50)
    support_package: list[PackageItem] = Field(default_factory=list, title="the support package", max_length=30)
    first_review_due_on: date = Field(title="the first review's date")
    partner_consent: list[PartnerConsent] = Field(
        default_factory=list,
        max_length=MAX_PARTNERS,
        title="for each partner the plan names, whether the family agreed to share their contact's name with it",
    )

    @model_validator(mode="after")
    def _partners(self) -> Plan:
        named = named_partners(self.network_actions, self.support_package)
        if len(named) > MAX_PARTNERS:
            raise ValueError(f"A plan can connect the family with at most {MAX_PARTNERS} partners")
        check_consents(named, self.partner_consent, required=named)
        return self


class Outcome(_Input):
    held: bool = Field(title="whether the meeting took place")
    held_on: date | None = Field(default=None, title="the date the meeting took place")
    plan: Plan | None = Field(default=None, title="what the meeting agreed")
    reason: Reason | None = Field(default=None, title="why the meeting did not take place")

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        if self.held:
            if self.held_on is None:
                raise ValueError("Give the date the meeting took place (held_on)")
            if self.reason is not None:
                raise ValueError("A meeting that took place takes no reason: remove it")
            if self.plan is not None:
                due = self.plan.first_review_due_on
                if not self.held_on < due <= self.held_on + REVIEW_WITHIN:
                    raise ValueError("The first review must be after the meeting and within three months of it")
        else:
            if self.reason is None:
                raise ValueError("Give the reason the meeting did not take place")
            if self.plan is not None or self.held_on is not None:
                raise ValueError("A meeting that did not take place has no date or plan: remove them")
        return self


# --- spending: approval, eligibility, delivery -------------------------------------------------------------------


@dataclass(frozen=True)
class SpendingRules:
    """The deployment's limits (in pence) and eligibility rules for support packages (shared/config.py)."""

    item_limit_pence: int
    total_limit_pence: int
    eligibility: tuple[str, ...] = ("lead_practitioner", "meeting_held")


ELIGIBILITY_REFUSALS = {
    "lead_practitioner": "A support package needs a named lead practitioner, and this referral is a request from "
    "another professional: record the plan without a package, or ask the family's lead practitioner to refer",
    "meeting_held": "A support package is agreed at a Family Network meeting that took place: record the meeting "
    "as held first",
}


def ineligible_because(route: str, meeting_held: bool, rules: SpendingRules) -> list[str]:
    """Why a referral may not have a support package (nothing: it may)."""
    met = {"lead_practitioner": route == "lead_practitioner", "meeting_held": meeting_held}
    return [ELIGIBILITY_REFUSALS[rule] for rule in rules.eligibility if not met.get(rule, False)]


def numbered(package: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plan's package items, each with its number (stable through reviews; a plan stored before items had
    numbers: their places, from 1)."""
    return [{**entry, "number": int(entry.get("number") or place)} for place, entry in enumerate(package, 1)]


def _same_item(entry: dict[str, Any], item: PackageItem) -> bool:
    return (
        entry.get("category") == item.category
        and entry.get("description") == item.description
        and int(entry.get("estimated_cost_pence", -1)) == item.estimated_cost_pence
        and entry.get("partner_id") == item.partner_id
    )


@dataclass(frozen=True)
class SettledPackage:
    """A package as recorded: each item with its number and status (new items approved, or waiting for a manager;
    items the plan already had kept as they were)."""

    entries: list[dict[str, Any]]
    added: list[dict[str, Any]]  # items the plan did not have
    waiting: list[dict[str, Any]]  # new items waiting for a manager's approval
    dropped: list[dict[str, Any]] = field(default_factory=list)  # items the plan had and no longer has
    last_number: int = 0


def settle_package(
    given: list[PackageItem],
    held: list[dict[str, Any]],
    rules: SpendingRules,
    *,
    last_number: int,
    recorded_at: str,
) -> SettledPackage:
    """The package as given, with what the plan `held` before (matched item by item on category, description,
    estimated cost and partner: an item whose cost changes is a new item, to be approved again). A new item over the
    item limit, or any new item while the package's estimated total (less declined items) is over the total limit,
    waits for a manager; the others are approved now. The status a client gives is never taken: the limits and the
    managers set it."""
    unmatched = numbered(held)
    kept: list[dict[str, Any] | None] = []
    for item in given:
        match = next((entry for entry in unmatched if _same_item(entry, item)), None)
        if match is not None:
            unmatched.remove(match)
        kept.append(match)
    total = sum(
        item.estimated_cost_pence if match is None else int(match["estimated_cost_pence"])
        for item, match in zip(given, kept, strict=True)
        if (match or {}).get("status") != "declined"
    )
    over_total = total > rules.total_limit_pence
    entries: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    number = max([last_number, *(int(e["number"]) for e in numbered(held))], default=0)
    for item, match in zip(given, kept, strict=True):
        if match is not None:  # as the plan holds it: a form's status never changes it
            entries.append(match)
            continue
        number += 1
        entry = {
            **{k: v for k, v in item.model_dump(mode="json").items() if k != "partner_id" or v is not None},
            "number": number,
            "recorded_at": recorded_at,
        }
        if item.estimated_cost_pence > rules.item_limit_pence or over_total:
            entry["status"] = WAITING
            entry["approval_needed"] = "item_limit" if item.estimated_cost_pence > rules.item_limit_pence else "total"
            waiting.append(entry)
        else:
            entry["status"] = "approved"
        entries.append(entry)
        added.append(entry)
    return SettledPackage(entries, added, waiting, dropped=unmatched, last_number=number)


class PackageDecline(_Input):
    reason: Reason = Field(title="why the item is declined (the coordinator reads it on the case page)")


class Delivery(_Input):
    actual_cost_pence: Cost = Field(title="what the item cost, in pence")
    supplier: Text = Field(title="who supplied it")
    delivered_on: date = Field(title="the date it was delivered")
