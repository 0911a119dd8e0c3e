"""Reads a synthesized CloudFormation template and resolves its intrinsics to local names.

Each resource's local physical name is its logical id, so local names are stable and readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_REGION = "eu-west-2"
LOCAL_ACCOUNT = "123456789012"


class UnresolvableReference(ValueError):
    """The template uses an intrinsic or attribute the local runtime does not know."""


@dataclass
class Template:
    body: dict[str, Any]
    region: str = LOCAL_REGION
    account: str = LOCAL_ACCOUNT
    # Attributes known only once a resource exists locally (a table's StreamArn, a queue's URL): logical id → attrs.
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    # AWS web endpoints the runtime serves itself (the user pool's domain and issuer): an address in the template
    # that starts with one of these resolves to the runtime's own (its gateway), as boto3's calls go to moto.
    endpoints: dict[str, str] = field(default_factory=dict)
    # Secrets' values by ARN, for CloudFormation's dynamic references ({{resolve:secretsmanager:ARN:SecretString:::}}),
    # which CloudFormation replaces with the value at deploy time.
    secret_values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> Template:
        return cls(json.loads(Path(path).read_text()))

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources", {})  # type: ignore[no-any-return]

    def of_type(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource.get("Properties", {})

    def logical_id(self, resource_type: str, path_fragment: str) -> str:
        """The one resource of a type whose construct path contains a fragment (e.g. 'IntakeService')."""
        found = [
            logical_id
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
            and path_fragment in resource.get("Metadata", {}).get("aws:cdk:path", "")
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {resource_type} resources match {path_fragment!r}: {found}")
        return found[0]

    # --- local names and ARNs -------------------------------------------------------------------------------------
    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        prefix = f"arn:aws:{{}}:{self.region}:{self.account}:"
        arns = {
            "AWS::DynamoDB::Table": prefix.format("dynamodb") + f"table/{logical_id}",
            "AWS::Events::EventBus": prefix.format("events") + f"event-bus/{logical_id}",
            "AWS::SQS::Queue": prefix.format("sqs") + logical_id,
            "AWS::Lambda::Function": prefix.format("lambda") + f"function:{logical_id}",
            "AWS::Events::Rule": prefix.format("events") + f"rule/{logical_id}",
            "AWS::IAM::Role": f"arn:aws:iam::{self.account}:role/{logical_id}",
            "AWS::KMS::Key": prefix.format("kms") + f"key/{logical_id}",
            "AWS::Scheduler::ScheduleGroup": prefix.format("scheduler") + f"schedule-group/{logical_id}",
        }
        if kind not in arns:
            return prefix.format(kind.split("::")[1].lower()) + logical_id
        return arns[kind]

    def ref(self, logical_id: str) -> str:
        if logical_id in self.attributes and "Ref" in self.attributes[logical_id]:
            return self.attributes[logical_id]["Ref"]
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{logical_id}"
        if kind == "AWS::KMS::Key":
            return logical_id
        return logical_id

    def get_att(self, logical_id: str, attribute: str) -> str:
        known = self.attributes.get(logical_id, {})
        if attribute in known:
            return known[attribute]
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in {"Name", "QueueName", "TableName"}:
            return logical_id
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        raise UnresolvableReference(f"{logical_id}.{attribute} is not known locally yet")

    # --- intrinsics --------------------------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._pseudo(argument) if argument.startswith("AWS::") else self.ref(argument)
            if name == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if name == "Fn::Join":
                separator, parts = argument
                return self.local_address(self.dynamic(separator.join(str(self.resolve(part)) for part in parts)))
            if name == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if name == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if name == "Fn::Sub":
                return self.local_address(self._sub(argument))
            if name.startswith("Fn::"):
                raise UnresolvableReference(f"{name} is not supported by the local runtime")
        return {key: self.resolve(item) for key, item in value.items()}

    def dynamic(self, value: str) -> str:
        """A string with its secretsmanager dynamic references replaced by the secrets' values, as at deploy time."""
        for arn, secret in self.secret_values.items():
            value = value.replace(f"{{{{resolve:secretsmanager:{arn}:SecretString:::}}}}", secret)
        if "{{resolve:" in value:
            raise UnresolvableReference("a dynamic reference the local runtime cannot resolve")
        return value

    def local_address(self, value: str) -> str:
        for remote, local in self.endpoints.items():
            if value == remote or value.startswith(remote + "/"):
                return local + value[len(remote) :]
        return value

    def _pseudo(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "Familynet",
            "AWS::NoValue": "",
        }
        if name not in pseudo:
            raise UnresolvableReference(f"Pseudo parameter {name} is not known locally")
        return pseudo[name]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        result: str = str(text)
        import re  # noqa: PLC0415

        for match in re.findall(r"\$\{([^}]+)\}", text):
            if match in variables:
                value = self.resolve(variables[match])
            elif match.startswith("AWS::"):
                value = self._pseudo(match)
            elif "." in match:
                value = self.get_att(*match.split(".", 1))
            else:
                value = self.ref(match)
            result = result.replace("${" + match + "}", str(value))
        return result
