"""Referral intake: a submission becomes a stored referral, its audit entry and a ReferralReceived, exactly once."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as day_time
from typing import Any

from pydantic import ValidationError

from shared.adapters import table
from shared.adapters.dynamodb import (
    Contention,
    DailyCount,
    DuplicateSubmission,
    NewReferral,
    OverDailyCap,
    ReferenceTaken,
    ReferralStore,
)
from shared.config import Settings
from shared.domain import clock, search
from shared.domain.errors import Invalid, ServiceUnavailable, TooMany, Unreadable
from shared.domain.events import EventData, ReferralAccepted, ReferralReceived, new_event
from shared.domain.referrals import (
    REFERRER_DOMAINS,
    ReferralStatus,
    ReferralSubmission,
    Route,
    SubmissionOutcome,
    in_domains,
    new_reference,
)
from shared.domain.validation import field_errors
from shared.service.outbox import outbox_item

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255
# Visible ASCII, spaces only inside (a UUID fits): what the OpenAPI document states, so any key it allows is taken.
IDEMPOTENCY_KEY_PATTERN = rf"^[!-~]([ -~]{{0,{MAX_IDEMPOTENCY_KEY - 2}}}[!-~])?$"
_ATTEMPTS = 5
_BACKOFF_SECONDS = 0.05


class IdempotencyKeyReused(Invalid):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different referral: send a new key for a new referral",
            [{"field": IDEMPOTENCY_HEADER, "message": "Use a new Idempotency-Key for a different referral"}],
        )


class DailyCapReached(TooMany):
    def __init__(self, counted: str, retry_after: int) -> None:
        whose = "from this email address" if counted == "referrer" else "from this network"
        super().__init__(
            f"Too many referrals have been sent {whose} today. Try again tomorrow, or phone the Family Network "
            "team if a family needs help today",
            retry_after=retry_after,
        )
        self.counted = counted


@dataclass(frozen=True)
class IntakeRequest:
    submission: ReferralSubmission
    idempotency_key: str | None
    source_ip: str | None = None  # the client's address (the gateway's own view of it), counted per day


def validate_submission(
    body: dict[str, Any], key: str | None, *, settings: Settings, source_ip: str | None = None
) -> IntakeRequest:
    if key is not None and not re.match(IDEMPOTENCY_KEY_PATTERN, key.strip()):
        rule = f"1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters, like a UUID"
        raise Unreadable(
            f"The {IDEMPOTENCY_HEADER} header must be {rule}", [{"field": IDEMPOTENCY_HEADER, "message": f"Use {rule}"}]
        )
    try:
        submission = ReferralSubmission.model_validate(
            body, context={REFERRER_DOMAINS: settings.allowed_referrer_domains()}
        )
    except ValidationError as exc:
        raise Invalid("The referral has problems to fix", field_errors(ReferralSubmission, exc)) from None
    return IntakeRequest(submission=submission, idempotency_key=key.strip() if key else None, source_ip=source_ip)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def submit_referral(
    request: IntakeRequest,
    *,
    store: ReferralStore,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> SubmissionOutcome:
    """Store a new referral with its audit entry and ReferralReceived in one transaction, or answer the earlier one.

    The event goes out through the transactional outbox (the table's stream feeds the event relay), so a referral
    is never stored without its event, nor announced without being stored.
    """
    now = now or clock.now()
    submission = request.submission
    # The validated model, not the raw text: the same referral sent as JSON or as a form, reordered or re-spaced,
    # is the same submission.
    body_fingerprint = fingerprint(submission.model_dump_json())
    for attempt in range(_ATTEMPTS):
        new = _new_referral(request, body_fingerprint, settings=settings, correlation_id=correlation_id, now=now)
        try:
            store.create(new, now=now)
        except ReferenceTaken:
            continue
        except Contention:
            # A double click: the twin request holds the same markers. Once it commits, this one is a repeat.
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(_BACKOFF_SECONDS * 2**attempt)
            continue
        except OverDailyCap as over:
            raise DailyCapReached(over.count.counted, _seconds_to_tomorrow(now)) from None
        except DuplicateSubmission as duplicate:
            earlier = duplicate.earlier
            if earlier.body_fingerprint != body_fingerprint:
                raise IdempotencyKeyReused() from None
            return SubmissionOutcome(reference=earlier.reference, status=ReferralStatus(earlier.status), created=False)
        return SubmissionOutcome(
            reference=new.referral["reference"], status=ReferralStatus(new.referral["status"]), created=True
        )
    raise ServiceUnavailable("Could not store the referral after several attempts; try again")


def initial_status(submission: ReferralSubmission, settings: Settings) -> ReferralStatus:
    """A lead practitioner's referral with the family's consent is always eligible: accepted at intake, if it comes
    from one of the council's Locality Team domains (anyone can say they are a lead practitioner; only the council's
    own addresses show it). Any other referral, and a request from another professional, waits for a coordinator's
    decision, so no meeting's time or place goes to an address a coordinator has not looked at."""
    if (
        submission.route is Route.LEAD_PRACTITIONER
        and submission.consent.given
        and in_domains(submission.referrer.email, settings.locality_domains)
    ):
        return ReferralStatus.ACCEPTED
    return ReferralStatus.RECEIVED


def _seconds_to_tomorrow(now: datetime) -> int:
    local = now.astimezone(clock.LONDON)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), day_time(0), tzinfo=clock.LONDON)
    return max(1, int((tomorrow - now).total_seconds()))


def _daily_counts(request: IntakeRequest, settings: Settings, now: datetime) -> list[DailyCount]:
    """One count for the referrer's address, one for the source address: the fingerprints of either, never either,
    kept two days (TTL) under England's date."""
    day = now.astimezone(clock.LONDON).date().isoformat()
    expires = int((now + timedelta(days=2)).timestamp())
    counted = [("referrer", request.submission.referrer.email.lower(), settings.referrer_daily_cap)]
    if request.source_ip:
        counted.append(("source", request.source_ip, settings.source_daily_cap))
    return [
        DailyCount(
            counted=kind,
            key=table.daily_count_key(kind, fingerprint(f"{kind}:{value}"), day),
            cap=cap,
            expires_at=expires,
        )
        for kind, value, cap in counted
    ]


def _new_referral(
    request: IntakeRequest, body_fingerprint: str, *, settings: Settings, correlation_id: str, now: datetime
) -> NewReferral:
    submission = request.submission
    reference = new_reference()
    pk = table.referral_pk(reference)
    at = clock.iso(now)
    status = initial_status(submission, settings)
    events: list[EventData] = [
        ReferralReceived(
            reference=reference,
            route=submission.route.value,
            received_at=now,
            consent_given_on=submission.consent.given_on,
            accepted_automatically=status is ReferralStatus.ACCEPTED,
        )
    ]
    changes: list[tuple[str, ReferralStatus | None, ReferralStatus]] = [
        ("referral.received", None, ReferralStatus.RECEIVED)
    ]
    if status is ReferralStatus.ACCEPTED:
        events.append(
            ReferralAccepted(reference=reference, route=submission.route.value, accepted_at=now, automatic=True)
        )
        changes.append(("referral.accepted", ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED))
    envelopes = [new_event(data, correlation_id=correlation_id, occurred_at=now) for data in events]
    referral = {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: "REFERRAL",
        table.KIND_ATTRIBUTE: table.KIND_REFERRAL,
        "reference": reference,
        "status": status.value,
        "route": submission.route.value,
        "received_at": at,
        "updated_at": at,
        "correlation_id": correlation_id,
        "version": 1,
        "submission": submission.model_dump(mode="json", exclude_none=True),
        table.STATUS_INDEX_PK: status.value,
        table.STATUS_INDEX_SK: f"{at}#{reference}",
    }
    audit = [
        {
            table.PARTITION_KEY: pk,
            table.SORT_KEY: f"AUDIT#{at}#{index}#{envelope.metadata.event_id}",
            table.KIND_ATTRIBUTE: table.KIND_AUDIT,
            "reference": reference,
            "at": at,
            "actor": "referrer" if index == 0 else "system:intake",
            "action": action,
            "changes": {"status": {"from": before.value if before else None, "to": after.value}},
            "correlation_id": correlation_id,
        }
        for index, ((action, before, after), envelope) in enumerate(zip(changes, envelopes, strict=True))
    ]
    outbox_events = [
        outbox_item(pk, envelope, event.detail_type, now=now, settings=settings)
        for event, envelope in zip(events, envelopes, strict=True)
    ]
    markers_expire = int((now + timedelta(hours=settings.submission_dedupe_hours)).timestamp())
    fingerprints = [body_fingerprint]
    if request.idempotency_key is not None:
        fingerprints.insert(0, fingerprint("idempotency-key:" + request.idempotency_key))
    markers = [
        {
            table.PARTITION_KEY: table.submission_pk(value),
            table.SORT_KEY: "SUBMISSION",
            table.KIND_ATTRIBUTE: table.KIND_SUBMISSION,
            "reference": reference,
            "status": status.value,
            "body_fingerprint": body_fingerprint,
            table.TTL_ATTRIBUTE: markers_expire,
        }
        for value in fingerprints
    ]
    return NewReferral(
        referral=referral,
        audit=audit,
        outbox_events=outbox_events,
        submission_markers=markers,
        daily_counts=_daily_counts(request, settings, now),
        search_entries=[
            {
                table.PARTITION_KEY: table.search_pk(search.fingerprint(term)),
                table.SORT_KEY: f"{at}#{reference}",
                table.KIND_ATTRIBUTE: table.KIND_SEARCH_ENTRY,
                "reference": reference,
                "received_at": at,
            }
            for term in search.terms_of(referral["submission"])
        ],
    )


def outcome_body(outcome: SubmissionOutcome) -> dict[str, Any]:
    return {"reference": outcome.reference, "status": outcome.status.value}
