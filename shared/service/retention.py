"""How long a referral's records are kept, and setting that expiry (DynamoDB TTL) on every item of the referral.

The rule (UK GDPR storage limitation; defaults for the council's DPO to confirm, each configurable per council,
`familynet:retention`):
- a referral withdrawn before it was accepted: RETENTION_WITHDRAWN_DAYS (90) days after the withdrawal;
- a referral declined, closed, withdrawn after acceptance, or closed because the family decided not to go ahead (a
  children's record: the service worked with the family): until the youngest child's RETENTION_UNTIL_AGE (25th)
  birthday or RETENTION_CLOSED_YEARS (6) years after that day, whichever is later (children's social care records are
  kept to 25, as councils' retention schedules do);
- an open referral: no expiry while it is open.

The event that ends a referral (ReferralDeclined, ReferralWithdrawn, FamilyDeclined, ReviewCompleted closing the
plan) sets the expiry on every item of its partition, each only if it has none or a later one (an outbox item keeps
its week); an item written afterwards (an email, an access entry) copies the referral's. Reads leave expired items
out at once (`shared/adapters/dynamodb.is_live`): DynamoDB deletes them up to a few days later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.adapters import aws, table
from shared.adapters.dynamodb import Cancelled, ReferralReader, transact, update
from shared.config import Settings
from shared.domain.events import EventData, FamilyDeclined, ReferralDeclined, ReferralWithdrawn, ReviewCompleted

NOT_YET_ACCEPTED = ("received",)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def youngest_born_on(referral: dict[str, Any] | None) -> date | None:
    """The youngest child's date of birth as the referral holds it (None if it holds none: erased, or unreadable)."""
    submission = (referral or {}).get("submission")
    family = submission.get("family") if isinstance(submission, dict) else None
    children = family.get("children") if isinstance(family, dict) else None
    born: list[date] = []
    for child in children if isinstance(children, list) else []:
        try:
            born.append(date.fromisoformat(str(child.get("date_of_birth"))))
        except (AttributeError, ValueError):
            continue  # an erased child
    return max(born, default=None)


def kept_until(ended: date, youngest_born_on: date | None, settings: Settings) -> date:
    """The last day a case's records are kept: the later of the closed period after it ended and the youngest
    child's birthday of the configured age (0: no age rule)."""
    after_end = _years_later(ended, settings.retention_closed_years)
    if youngest_born_on is None or settings.retention_until_age == 0:
        return after_end
    return max(after_end, _years_later(youngest_born_on, settings.retention_until_age))


def expiry(event: EventData, settings: Settings, youngest_born_on: date | None = None) -> int | None:
    """The epoch second the referral's records expire, from the event that ends it and the youngest child's date of
    birth (the referral's, never the event's); None if the event does not end it."""
    if isinstance(event, ReferralWithdrawn):
        ended = event.withdrawn_at.astimezone(UTC)
        if event.previous_status in NOT_YET_ACCEPTED:
            return int((ended + timedelta(days=settings.retention_withdrawn_days)).timestamp())
        return _end_of(kept_until(ended.date(), youngest_born_on, settings))
    if isinstance(event, ReferralDeclined):
        return _end_of(kept_until(event.declined_at.astimezone(UTC).date(), youngest_born_on, settings))
    if isinstance(event, FamilyDeclined):
        return _end_of(kept_until(event.declined_at.astimezone(UTC).date(), youngest_born_on, settings))
    if isinstance(event, ReviewCompleted) and event.outcome == "close":
        return _end_of(kept_until(event.completed_on, youngest_born_on, settings))
    return None


def _end_of(day: date) -> int:
    return int(datetime.combine(day, time(23, 59, 59), tzinfo=UTC).timestamp())


def apply(
    reference: str,
    expires_at: int,
    *,
    settings: Settings,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
) -> int:
    """Set the expiry on every item of the referral that has none or a later one; returns how many changed.
    Repeating it (a redelivered event) changes nothing."""
    changed = 0
    for item in ReferralReader(settings.table_name, client).partition(reference):
        shorter = update(
            {table.PARTITION_KEY: item[table.PARTITION_KEY], table.SORT_KEY: item[table.SORT_KEY]},
            settings.table_name,
            {table.TTL_ATTRIBUTE: expires_at},
            condition="attribute_exists(#pk) AND (attribute_not_exists(#ttl) OR #ttl > :expires)",
            names={"#pk": table.PARTITION_KEY, "#ttl": table.TTL_ATTRIBUTE},
            values={":expires": expires_at},
        )
        try:
            transact([shorter], settings.table_name, client)
        except Cancelled:
            continue  # already as short or shorter
        changed += 1
    return changed


def inherited(referral: dict[str, Any] | None) -> dict[str, Any]:
    """The expiry an item written under an ended referral copies from it (nothing while it is open)."""
    if referral and referral.get(table.TTL_ATTRIBUTE) is not None:
        return {table.TTL_ATTRIBUTE: int(referral[table.TTL_ATTRIBUTE])}
    return {}
