"""A Family Plan as agreed at the meeting: the network's actions, the support package, the partners named with
the family's consent, and the first review (within three months)."""

from __future__ import annotations

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
        title="the community partner that does it, from the directory (its email quotes `what`: no family details)",
    )


class PackageItem(_Input):
    category: Literal["item", "service", "equipment"] = Field(title="the kind of support")
    description: Text = Field(title="what the support is")
    estimated_cost_pence: Cost = Field(title="the estimated cost in pence")
    status: Literal["requested", "approved", "delivered", "declined"] = Field(default="requested", title="its status")
    partner_id: PartnerId | None = Field(
        default=None, title="the community partner that provides it (its email quotes the description)"
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
