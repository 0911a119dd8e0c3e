"""EventBridge Scheduler: one-time schedules put or deleted by name, with its failures as domain errors."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.domain.errors import ServiceUnavailable


def put_schedule(request: dict[str, Any]) -> None:
    """Create the schedule, or replace the one of that name (CreateSchedule, then UpdateSchedule on a conflict)."""
    client = aws.scheduler()
    try:
        try:
            client.create_schedule(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            client.update_schedule(**request)
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable(f"EventBridge Scheduler failed: {type(exc).__name__}") from exc


def delete_schedule(group: str, name: str) -> bool:
    """Delete one schedule; False if there was none (fired already, or deleted by a repeated event)."""
    try:
        aws.scheduler().delete_schedule(GroupName=group, Name=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise ServiceUnavailable(f"EventBridge Scheduler failed: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(f"EventBridge Scheduler failed: {type(exc).__name__}") from exc
    return True
