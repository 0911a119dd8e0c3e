"""The coordinators' routes, one Router per resource; what every route needs to call the service layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain.actors import Actor
from shared.observability import logger
from shared.web.api import expected_version
from shared.web.staff import actor_from


def reader() -> ReferralReader:
    return ReferralReader(get_settings().table_name)


def correlation_id() -> str:
    return logger.get_correlation_id() or "none"


def caller(router: Router) -> Actor:
    """The coordinator calling (401 without verified claims, 403 without the coordinators group)."""
    return actor_from(router.current_event.raw_event)


def apply(router: Router, operation: Callable[..., dict[str, Any]], actor: Actor, *args: Any) -> dict[str, Any]:
    """Run one change to a referral as the caller, conditional on the version they read (If-Match)."""
    return operation(
        *args,
        actor=actor,
        expected_version=expected_version(router.current_event.headers),
        reader=reader(),
        settings=get_settings(),
        correlation_id=correlation_id(),
    )
