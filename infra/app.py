"""CDK entry point: `python -m infra.app` synthesizes offline (no Docker, no credentials) into cdk.out/."""

from __future__ import annotations

import os
import re

from aws_cdk import App

from infra.constants import (
    BUNDLE_CONTEXT,
    BUNDLE_FULL,
    BUNDLE_LIGHT,
    DEFAULT_REGION,
    EDGE_STACK_NAME,
    REGION_CONTEXT,
    STACK_NAME,
)
from infra.constructs.api import DEFAULT_PUBLIC_URL, PUBLIC_URL_CONTEXT, checked_public_url
from infra.edge import EdgeStack
from infra.nag import add_checks
from infra.stack import FamilynetStack

_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"


def build_app(outdir: str = "cdk.out", bundle: str | None = None) -> tuple[App, FamilynetStack]:
    app = App(outdir=outdir)
    mode = bundle or app.node.try_get_context(BUNDLE_CONTEXT) or os.environ.get("FAMILYNET_BUNDLE") or BUNDLE_FULL
    if mode not in (BUNDLE_FULL, BUNDLE_LIGHT):
        raise ValueError(f"{BUNDLE_CONTEXT} must be {BUNDLE_FULL!r} or {BUNDLE_LIGHT!r}, not {mode!r}")
    region = app.node.try_get_context(REGION_CONTEXT) or DEFAULT_REGION
    if not isinstance(region, str) or not re.match(_REGION, region):
        raise ValueError(f"{REGION_CONTEXT} must be an AWS region such as {DEFAULT_REGION}, not {region!r}")
    add_checks(app)
    public_url = checked_public_url(app.node.try_get_context(PUBLIC_URL_CONTEXT)) or DEFAULT_PUBLIC_URL
    edge = EdgeStack(app, EDGE_STACK_NAME, domain=public_url.removeprefix("https://"))
    stack = FamilynetStack(app, STACK_NAME, bundle_dependencies=mode == BUNDLE_FULL, region=region, edge=edge)
    return app, stack


def main() -> None:
    app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
    app.synth()


if __name__ == "__main__":
    main()
