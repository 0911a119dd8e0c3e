"""Builds Lambda assets locally, without Docker: one code folder per function, one dependencies layer for all.

The layer's wheels are the aarch64 manylinux builds of the exact versions in uv.lock, installed with uv for the
runtime's Python; boto3/botocore come with the Lambda runtime and are left out.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from infra.constants import LAMBDA_PLATFORM, PYTHON_VERSION

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "assets"
_PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


def function_code(name: str, *, with_web: bool = False) -> Path:
    """functions/<name>/ and the shared package, laid out so the handler imports as in the repository; with the web
    form's templates and built assets (web/templates, web/assets) for the function that serves it.

    Each staging is a folder named by its contents' hash, built aside and renamed into place, and never changed
    after: two synths at once (pytest-xdist workers) share it or each build their own, and neither can delete files
    under the other's feet while CDK copies them."""
    if with_web and not (ROOT / "web" / "assets" / "app.css").is_file():
        raise FileNotFoundError("web/assets/ is not built: run `make web` (or any make target that needs it)")
    sources = {Path("functions") / name: ROOT / "functions" / name, Path("shared"): ROOT / "shared"}
    if with_web:
        sources |= {Path("web") / folder: ROOT / "web" / folder for folder in ("templates", "assets")}
    digest = hashlib.sha256()
    for into, folder in sorted(sources.items()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not _ignored(p)):
            digest.update(f"{into / path.relative_to(folder)}\0".encode() + path.read_bytes() + b"\0")
    parent = BUILD / "functions"
    target = parent / f"{name}-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    staging = parent / f".{target.name}-{uuid.uuid4().hex}"
    (staging / "functions").mkdir(parents=True)
    (staging / "functions" / "__init__.py").write_text("")
    for into, folder in sources.items():
        shutil.copytree(folder, staging / into, ignore=_IGNORE)
    try:
        staging.rename(target)
    except OSError:  # another process staged the same contents first: theirs is as good
        shutil.rmtree(staging, ignore_errors=True)
    _prune(parent, name, keep=target)
    return target


def _ignored(path: Path) -> bool:
    return "__pycache__" in path.parts or ".mypy_cache" in path.parts or path.suffix == ".pyc"


def _prune(parent: Path, name: str, *, keep: Path) -> None:
    """Earlier stagings of this function, left by code since changed (older than an hour: none is in use)."""
    cutoff = time.time() - 3600
    for old in parent.glob(f"{name}-*"):
        if old != keep and old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def dependencies_layer(*, full: bool) -> Path:
    """A layer folder (python/...) with the runtime dependencies, or an empty one for a light synth."""
    if not full:
        target = BUILD / "layer-light"
        (target / "python").mkdir(parents=True, exist_ok=True)
        (target / "python" / "README.txt").write_text("Light synth: dependencies are not bundled.\n")
        return target
    requirements = _run(
        [
            sys.executable,
            "-m",
            "uv",
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            *(arg for pkg in _PROVIDED_BY_RUNTIME for arg in ("--no-emit-package", pkg)),
        ]
    )
    digest = hashlib.sha256(f"{PYTHON_VERSION}|{LAMBDA_PLATFORM}|{requirements}".encode()).hexdigest()[:16]
    target = BUILD / f"layer-{digest}"
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    requirements_file = BUILD / f"requirements-{digest}.txt"
    requirements_file.parent.mkdir(parents=True, exist_ok=True)
    requirements_file.write_text(requirements)
    _run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--only-binary",
            ":all:",
            "--python-platform",
            LAMBDA_PLATFORM,
            "--python-version",
            PYTHON_VERSION,
            "--target",
            str(target / "python"),
            "-r",
            str(requirements_file),
        ]
    )
    (target / ".complete").write_text(digest)
    return target


def _run(command: list[str]) -> str:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{result.stderr}")
    return result.stdout
