"""Domain errors: each carries a message a person can act on, never a stack trace, and knows nothing of HTTP.

Each front door maps them once: the JSON API in `shared/web/errors.py`, the public pages in their own functions.
"""

from __future__ import annotations


class FamilynetError(Exception):
    """Base of every error the domain raises on purpose."""


class ServiceUnavailable(FamilynetError):
    """A dependency (DynamoDB, EventBridge) failed in a way a retry may fix."""


class ConfigurationError(FamilynetError):
    """The deployment is misconfigured (a missing table, a wrong bus name): operations must act."""


class PublishFailed(ServiceUnavailable):
    """EventBridge refused some entries; the caller retries them."""


class Refused(FamilynetError):
    """Something a person asked for that the service will not do as asked; `message` says what to do instead, and
    `errors`, where given, names each field with what to fix (`[{"field", "message"}]`)."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class Unreadable(Refused):
    """A value the service cannot read at all (a cursor it never gave, a number that is not one)."""


class Invalid(Refused):
    """Answers that break a rule."""


class NotFound(Refused):
    """There is no such thing (a referral, a review, a partner's connection)."""


class NotAllowed(Refused):
    """Not for this person's role (a coordinator approving spending only a manager may approve)."""


class Conflict(Refused):
    """The thing is not in a state that allows the change (changed meanwhile, already answered, closed); `field`
    names the answer to change, where one does."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooMany(Refused):
    """Over a limit for now (a daily cap); it lifts after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
