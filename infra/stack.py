"""The familynet stack: composes one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack
from constructs import Construct

from infra.constants import API_ID, BUS_ID, CDN_ID, DATA_ID
from infra.constructs.api import Api
from infra.constructs.auth import StaffAuth
from infra.constructs.bus import Bus
from infra.constructs.cdn import Cdn
from infra.constructs.connections import Connections
from infra.constructs.console import Console
from infra.constructs.data import Data
from infra.constructs.event_relay import EventRelay
from infra.constructs.feedback import Feedback
from infra.constructs.function import DependenciesLayer
from infra.constructs.intake import Intake
from infra.constructs.operations import Operations
from infra.constructs.reminders import Reminders
from infra.constructs.reports import Reports
from infra.constructs.scheduling import Scheduling
from infra.edge import EdgeStack


class FamilynetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bundle_dependencies: bool,
        region: str,
        edge: EdgeStack,
        **kwargs: Any,
    ) -> None:
        """`region`: explicit (cross-region references need it), the account stays the deployer's; `edge`: the
        us-east-1 stack holding CloudFront's web ACL and certificate."""
        super().__init__(scope, construct_id, env=Environment(region=region), cross_region_references=True, **kwargs)
        self.data = Data(self, DATA_ID)
        self.bus = Bus(self, BUS_ID)
        self.api = Api(self, API_ID)
        self.cdn = Cdn(
            self,
            CDN_ID,
            api=self.api,
            web_acl_arn=edge.web_acl.attr_arn,
            certificate_arn=edge.certificate.certificate_arn,
        )
        layer = DependenciesLayer(self, "Dependencies", full=bundle_dependencies).layer
        self.intake = Intake(
            self,
            "IntakeService",
            data=self.data,
            api=self.api,
            layer=layer,
            origin_secret=self.cdn.origin_secret_value,
        )
        self.event_relay = EventRelay(self, "EventRelay", data=self.data, bus=self.bus, layer=layer)
        # Before Feedback: its emails carry links signed with the connections' key.
        self.connections = Connections(self, "Connections", data=self.data, api=self.api, layer=layer)
        self.feedback = Feedback(
            self,
            "Feedback",
            data=self.data,
            bus=self.bus,
            link_key=self.connections.link_key,
            public_url=self.api.public_url,
            layer=layer,
        )
        self.reminders = Reminders(self, "Reminders", data=self.data, bus=self.bus, layer=layer)
        self.reports = Reports(self, "Reports", data=self.data, bus=self.bus, layer=layer)
        self.staff_auth = StaffAuth(self, "StaffAuth", public_url=self.api.public_url)
        self.scheduling = Scheduling(
            self, "Scheduling", data=self.data, bus=self.bus, api=self.api, auth=self.staff_auth, layer=layer
        )
        self.console = Console(self, "Console", data=self.data, api=self.api, auth=self.staff_auth, layer=layer)
        # Last: it watches every queue and function defined above.
        self.operations = Operations(self, "Operations", api=self.api)
