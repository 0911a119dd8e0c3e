"""The local runtime's provisioning of secrets (a random value, the template's key) and of an HTTP API's endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import LOCAL_PUBLIC_URL, provision
from infra.local.template import LOCAL_REGION, Template


def linking_stack() -> Template:
    """As CDK writes it: a key, a secret it encrypts, an HTTP API, and a function told the secret's ARN (its Ref) and
    the API's endpoint."""
    return Template(
        {
            "Resources": {
                "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "data"}},
                "LinkKey": {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {
                        "GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 64},
                        "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
                    },
                },
                "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "python3.14",
                        "Handler": "functions.feedback.handler.handler",
                        "Environment": {
                            "Variables": {
                                "LINK_KEY_SECRET_ARN": {"Ref": "LinkKey"},
                                "PUBLIC_URL": {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]},
                            }
                        },
                    },
                },
            }
        }
    )


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        yield boto3.Session(region_name=LOCAL_REGION).client


def test_a_secret_gets_a_random_value_of_its_length_encrypted_with_its_key_and_its_ref_is_its_arn(clients):
    template = linking_stack()

    provisioned = provision(template, clients)

    arn = provisioned.functions["Fn"].environment["LINK_KEY_SECRET_ARN"]
    secretsmanager = clients("secretsmanager")
    value = secretsmanager.get_secret_value(SecretId=arn)["SecretString"]
    assert len(value) == 64
    assert secretsmanager.describe_secret(SecretId=arn)["KmsKeyId"] == template.get_att("Key", "Arn")


def test_each_provisioning_draws_a_new_value(clients):
    first, second = linking_stack(), linking_stack()
    second.body["Resources"]["LinkKey"]["Properties"]["Name"] = "another"  # both in one moto account

    provision(first, clients)
    provision(second, clients)

    secretsmanager = clients("secretsmanager")
    values = {secretsmanager.get_secret_value(SecretId=t.ref("LinkKey"))["SecretString"] for t in (first, second)}
    assert len(values) == 2


def test_the_apis_endpoint_is_the_local_gateways_address(clients):
    provisioned = provision(linking_stack(), clients, public_url="http://127.0.0.1:40123")

    assert provisioned.functions["Fn"].environment["PUBLIC_URL"] == "http://127.0.0.1:40123"


def test_without_an_address_the_endpoint_is_make_runs_default(clients):
    provisioned = provision(linking_stack(), clients)

    assert provisioned.functions["Fn"].environment["PUBLIC_URL"] == LOCAL_PUBLIC_URL == "http://127.0.0.1:8000"
