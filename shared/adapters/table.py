"""The single table's layout: key and index names, shared by the code, infra/ and the tests."""

from __future__ import annotations

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"

# The coordinator's queue: referrals by status, newest first.
STATUS_INDEX = "by_status"
STATUS_INDEX_PK = "status_key"
STATUS_INDEX_SK = "status_sort"
# Open reviews by due date (reminders' overdue sweep).
REVIEW_DUE_INDEX = "by_review_due"
REVIEW_DUE_INDEX_PK = "review_due_key"
REVIEW_DUE_INDEX_SK = "review_due_on"
# Scheduled meetings in start order, each slot naming its facilitator: one Query counts every facilitator's upcoming
# meetings (the ReferralAccepted consumer's allocation), however many facilitators there are.
FACILITATOR_INDEX = "by_facilitator"
FACILITATOR_INDEX_PK = "facilitator_key"
FACILITATOR_INDEX_SK = "facilitator_slot"
SCHEDULED_MEETINGS = "scheduled"  # the index's one partition


def facilitator_slot(starts_at: str, facilitator_id: str) -> str:
    """A scheduled meeting's sort key in the by_facilitator index: its UTC start, then its facilitator."""
    return f"{starts_at}#{facilitator_id}"


# Running deadline clocks by the date they fall due (the daily clock check).
DEADLINE_INDEX = "by_deadline"
DEADLINE_INDEX_PK = "deadline_key"
DEADLINE_INDEX_SK = "deadline_on"
DEADLINE_RUNNING = "running"  # the by_deadline partition the daily check reads: what still waits for its day
DEADLINE_BREACHED = "breached"  # clocks the daily check found breached (the console's work list reads them)
DEADLINE_UNANSWERED = "unanswered"  # connections chased and still waiting for the partner's answer
# Support package items waiting for a manager's approval, oldest first (sort key: when recorded, reference, item):
# the managers' approvals page and their work list read it.
DEADLINE_AWAITING_APPROVAL = "awaiting_approval"

# The Early Help network's directory: partners by offer, by locality, or all (shared/service/partners.py).
DIRECTORY_INDEX = "by_directory"
DIRECTORY_INDEX_PK = "directory_key"
DIRECTORY_INDEX_SK = "directory_sort"

# Referrals by their named coordinator ("my cases"): the coordinator's subject id, then received time and reference.
COORDINATOR_INDEX = "by_coordinator"
COORDINATOR_INDEX_PK = "coordinator_key"
COORDINATOR_INDEX_SK = "coordinator_sort"
# The console's staff directory (whoever has signed in: their subject id, name and role), one partition.
STAFF_PK = "STAFF"

GLOBAL_SECONDARY_INDEXES = {
    STATUS_INDEX: (STATUS_INDEX_PK, STATUS_INDEX_SK),
    REVIEW_DUE_INDEX: (REVIEW_DUE_INDEX_PK, REVIEW_DUE_INDEX_SK),
    FACILITATOR_INDEX: (FACILITATOR_INDEX_PK, FACILITATOR_INDEX_SK),
    DEADLINE_INDEX: (DEADLINE_INDEX_PK, DEADLINE_INDEX_SK),
    DIRECTORY_INDEX: (DIRECTORY_INDEX_PK, DIRECTORY_INDEX_SK),
    COORDINATOR_INDEX: (COORDINATOR_INDEX_PK, COORDINATOR_INDEX_SK),
}

# What kind of item a row is; the event relay's stream filter matches KIND_OUTBOX_EVENT.
KIND_ATTRIBUTE = "kind"
KIND_REFERRAL = "referral"
KIND_AUDIT = "audit"
KIND_OUTBOX_EVENT = "outbox_event"
KIND_SUBMISSION = "submission"
KIND_MEETING = "meeting"
KIND_DAILY_COUNT = "daily_count"
KIND_SESSION = "session"
KIND_SIGN_IN = "sign_in"


def referral_pk(reference: str) -> str:
    return f"REFERRAL#{reference}"


def meeting_snapshot_key(reference: str, meeting_id: str, version: int) -> dict[str, str]:
    """The meeting as one version of it left it (its venue read by the emails about that change)."""
    return {PARTITION_KEY: referral_pk(reference), SORT_KEY: f"MEETING#{meeting_id}#v{version}"}


def participant_key(reference: str, participant_id: str) -> dict[str, str]:
    """One of a meeting's participants, in the referral's partition."""
    return {PARTITION_KEY: referral_pk(reference), SORT_KEY: f"PARTICIPANT#{participant_id}"}


def submission_pk(fingerprint: str) -> str:
    return f"SUBMISSION#{fingerprint}"


def daily_count_key(counted: str, fingerprint: str, day: str) -> dict[str, str]:
    """A day's count of referrals from one referrer's address or one source address (`counted`), kept under a
    fingerprint of it, never the address itself."""
    return {PARTITION_KEY: f"COUNT#{counted}#{fingerprint}", SORT_KEY: f"DAY#{day}"}


KIND_SEARCH_ENTRY = "search_entry"


def search_pk(fingerprint: str) -> str:
    """The referrals a search term finds (a postcode, a surname): one partition per term, under its SHA-256; each
    entry's sort key is the referral's received time and reference."""
    return f"SEARCH#{fingerprint}"


def session_key(fingerprint: str) -> dict[str, str]:
    """A console session, under a fingerprint of its id (the cookie's value is never stored)."""
    return {PARTITION_KEY: f"SESSION#{fingerprint}", SORT_KEY: "SESSION"}


def sign_in_key(fingerprint: str) -> dict[str, str]:
    """A sign-in under way (its PKCE verifier and where to return), under a fingerprint of its `state`."""
    return {PARTITION_KEY: f"SIGNIN#{fingerprint}", SORT_KEY: "SIGNIN"}


FACILITATORS_PK = "FACILITATORS"  # every facilitator's item shares this partition (one Query lists them)


def facilitator_key(facilitator_id: str) -> dict[str, str]:
    return {PARTITION_KEY: FACILITATORS_PK, SORT_KEY: f"FACILITATOR#{facilitator_id}"}


def partner_key(partner_id: str) -> dict[str, str]:
    return {PARTITION_KEY: f"PARTNER#{partner_id}", SORT_KEY: "PARTNER"}


# The table's own attributes: keys and every index's keys (an export leaves them out; an erasure keeps them).
KEY_ATTRIBUTES = frozenset(
    {PARTITION_KEY, SORT_KEY, *(name for keys in GLOBAL_SECONDARY_INDEXES.values() for name in keys)}
)
