"""cdk-nag's AwsSolutions pack gates every synth; cfn-lint finds no errors; the deployable asset is for arm64."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_the_synth_ran_the_aws_solutions_pack_and_it_passed(cloud_assembly: Path):
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    [plugin] = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []


def test_each_acknowledgment_names_its_exact_finding_and_a_reason(cloud_assembly: Path):
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    suppressed = report["pluginReports"][0]["suppressedViolations"]
    for finding in suppressed:
        assert finding["acknowledgedId"] == f"AwsSolutions::{finding['ruleName']}"
        assert len(finding["reason"]) >= 40, finding["ruleName"]
    # A new acknowledgment is a decision for review: it must be added here on purpose.
    assert {f["ruleName"].split("[")[0] for f in suppressed} == {
        "AwsSolutions-APIG4",
        "AwsSolutions-CFR1",  # no geo restriction: England's professionals on VPNs and travelling devices
        "AwsSolutions-CFR3",  # no CloudFront access logs: they would keep addresses and partners' link tokens
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-SMG4",  # the partners' link key and CloudFront's origin secret change by hand/deployment
        "AwsSolutions-SQS3",
    }


def test_a_new_finding_fails_the_synth(tmp_path: Path):
    """A construct nag objects to (a queue without encryption or a DLQ) makes app.synth() raise."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    from infra.nag import add_checks

    app = App(outdir=str(tmp_path))
    add_checks(app)
    stack = Stack(app, "Throwaway")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for v in report["pluginReports"][0]["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


@pytest.mark.parametrize(
    ("stack", "regions"),
    [
        # The regions a UK council deploys to (London, Ireland): Cognito's feature plans are not in every region.
        ("Familynet", ["eu-west-2", "eu-west-1"]),
        ("FamilynetEdge", ["us-east-1"]),  # CloudFront's web ACL and certificate live there only
    ],
)
def test_cfn_lint_reports_no_errors(cloud_assembly: Path, stack: str, regions: list[str]):
    from cfnlint.api import lint

    matches = lint((cloud_assembly / f"{stack}.template.json").read_text(), regions=regions)
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity.lower() == "error"]
    assert errors == []


def test_the_app_is_two_stacks_in_fixed_regions_of_the_deployers_account(cloud_assembly: Path):
    """Cross-region references need explicit regions; the account stays the deployer's (no credentials at synth)."""
    manifest = json.loads((cloud_assembly / "manifest.json").read_text())
    environments = {
        name: artifact["environment"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert environments == {
        "FamilynetEdge": "aws://unknown-account/us-east-1",
        "Familynet": "aws://unknown-account/eu-west-2",
    }
    assert "FamilynetEdge" in manifest["artifacts"]["Familynet"]["dependencies"]


def test_the_dependencies_layer_carries_aarch64_wheels_for_the_runtime():
    from infra import assets
    from infra.constants import PYTHON_VERSION

    layer = assets.dependencies_layer(full=True) / "python"
    [core] = layer.glob("pydantic_core/_pydantic_core*.so")
    assert f"cpython-{PYTHON_VERSION.replace('.', '')}-aarch64" in core.name
    elf_machine = int.from_bytes(core.read_bytes()[18:20], "little")
    assert elf_machine == 0xB7  # EM_AARCH64
    assert (layer / "aws_lambda_powertools").is_dir() and (layer / "email_validator").is_dir()
    assert not (layer / "botocore").exists()  # provided by the Lambda runtime
    assert not list(layer.rglob("*.pyc"))  # the host's bytecode is useless to another Python


def test_function_assets_hold_the_handler_and_the_shared_package():
    from infra import assets

    folder = assets.function_code("intake")
    assert (folder / "functions" / "intake" / "handler.py").is_file()
    assert (folder / "shared" / "service" / "intake.py").is_file()
    assert not list(folder.rglob("__pycache__"))
