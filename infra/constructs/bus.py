"""The custom event bus and its archive (events carry ids, states and dates only)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct

from infra.constants import BUS_ARCHIVE_RETENTION_DAYS
from shared.domain.events import EVENT_SOURCE


class Bus(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "EventBus", description="familynet domain events")
        self.archive = self.bus.archive(
            "Archive",
            description="familynet events, kept for replay after a consumer fault is fixed",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(BUS_ARCHIVE_RETENTION_DAYS),
        )
