"""CDK entry point: `python -m infra.app` synthesizes offline (no Docker, no credentials) into cdk.out/."""

from __future__ import annotations

import os

from aws_cdk import App

from infra.constants import BUNDLE_CONTEXT, BUNDLE_FULL, BUNDLE_LIGHT, STACK_NAME
from infra.nag import add_checks
from infra.stack import FamilynetStack


def build_app(outdir: str = "cdk.out", bundle: str | None = None) -> tuple[App, FamilynetStack]:
    app = App(outdir=outdir)
    mode = bundle or app.node.try_get_context(BUNDLE_CONTEXT) or os.environ.get("FAMILYNET_BUNDLE") or BUNDLE_FULL
    if mode not in (BUNDLE_FULL, BUNDLE_LIGHT):
        raise ValueError(f"{BUNDLE_CONTEXT} must be {BUNDLE_FULL!r} or {BUNDLE_LIGHT!r}, not {mode!r}")
    add_checks(app)
    stack = FamilynetStack(app, STACK_NAME, bundle_dependencies=mode == BUNDLE_FULL)
    return app, stack


def main() -> None:
    app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
    app.synth()


if __name__ == "__main__":
    main()
