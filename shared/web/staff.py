"""Who is calling a staff route, from the claims API Gateway's JWT authorizer passed on."""

from __future__ import annotations

from typing import Any

from shared.domain.actors import Actor

COORDINATORS_GROUP = "coordinators"
MANAGERS_GROUP = "managers"
# What a person refused a managers' route is told (the console says the same).
SPENDING_MANAGERS_ONLY = "Only managers can approve or decline support package spending"
PRIVACY_MANAGERS_ONLY = (
    "Only managers can export or erase a referral's records. Ask a manager if the family has asked for this."
)


class Unauthorized(Exception):
    """No verified claims reached the function (API Gateway would have refused the request)."""


class Forbidden(Exception):
    """A valid token without the group the route needs (coordinators; managers for spending, export and erasure)."""

    def __init__(self, message: str = "Only coordinators can use this service") -> None:
        super().__init__(message)
        self.message = message


def groups_of(claims: dict[str, Any]) -> set[str]:
    """HTTP APIs pass a list claim as the text `[a b]`; accept a real list too."""
    value = claims.get("cognito:groups", "")
    if isinstance(value, list):
        return {str(v) for v in value}
    return {part for part in str(value).strip("[]").replace(",", " ").split() if part}


def actor_from(event: dict[str, Any]) -> Actor:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    if not isinstance(claims, dict) or not claims.get("sub"):
        raise Unauthorized()
    if COORDINATORS_GROUP not in groups_of(claims):
        raise Forbidden()
    return Actor(subject=str(claims["sub"]))


def manager_from(event: dict[str, Any], refusal: str = SPENDING_MANAGERS_ONLY) -> Actor:
    """A manager calling a route only managers may use (spending decisions, subject access, erasure); anyone else
    is refused (403) with `refusal`."""
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims")
    if not isinstance(claims, dict) or not claims.get("sub"):
        raise Unauthorized()
    if MANAGERS_GROUP not in groups_of(claims):
        raise Forbidden(refusal)
    return Actor(subject=str(claims["sub"]), role="manager")
