"""`python -m infra.local` (what `make run` runs): the whole system on 127.0.0.1, from the synthesized template.

Synthesizes the CDK app (light assets) into build/local/ unless nothing under infra/, shared/, functions/ or web/
changed since the last run, starts moto and everything the template defines, serves the gateway on PORT (default
8000) and prints one line when ready. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import faulthandler
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "local"
DEFAULT_PORT = 8000


def template_path(outdir: Path) -> Path:
    """The app's template, synthesized again only when its sources changed (the synth takes seconds)."""
    from infra.constants import STACK_NAME  # noqa: PLC0415

    # Everything the assets copy (the functions, shared/, the web's templates and built assets) and what defines
    # the stacks; not the local runtime itself. The tests read the assets too (tests/conftest.py cloud_assembly).
    sources = sorted(
        p
        for folder in ("infra", "shared", "functions", "web")
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.relative_to(ROOT).parts[:2] != ("infra", "local")
    )
    digest = hashlib.sha256()
    for path in [*sources, ROOT / "cdk.json", ROOT / "uv.lock"]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    stamp = outdir / "source.sha256"
    template = outdir / f"{STACK_NAME}.template.json"
    outdir.mkdir(parents=True, exist_ok=True)
    with (outdir.parent / f"{outdir.name}.lock").open("w") as lock:
        # one synth at a time: `make run`, the benches and two test workers may all ask for it at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.is_file() and stamp.is_file() and stamp.read_text() == digest.hexdigest():
            return template
        _synthesize(outdir)
        stamp.write_text(digest.hexdigest())
    return template


def _synthesize(outdir: Path) -> None:
    # In its own process: CDK's jsii kernel (a Node process) has no business in the running system.
    subprocess.run(
        [sys.executable, "-m", "infra.app"],
        cwd=ROOT,
        env={
            **os.environ,
            "CDK_OUTDIR": str(outdir),
            "FAMILYNET_BUNDLE": "light",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        check=True,
    )


def _listen(port: int) -> socket.socket:
    """The gateway's socket, bound here: werkzeug's make_server exits the process itself when it cannot bind."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does: restart at once
        listening.bind(("127.0.0.1", port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    return listening


def _not_ready(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The server's application until the runtime has started (never called: nothing is served before then)."""
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"familynet is starting\n"]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--template", type=Path, help="run this synthesized template instead of the app's")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--state",
        type=Path,
        default=BUILD / "state.json",
        help="write the addresses (gateway, moto) here as JSON when ready (make redrive reads it); removed on stop",
    )
    parser.add_argument("--logs", type=Path, default=BUILD / "logs", help="where each function's logs go")
    parser.add_argument("--echo-logs", action="store_true", help="also print the functions' logs")
    parser.add_argument(
        "--faults",
        default=os.environ.get("FAMILYNET_FAULTS", ""),
        help="fail a share of the functions' AWS calls, e.g. dynamodb.throttle=0.05,events.fail=0.05,ses.throttle=0.05,"
        "ses.reject=0.01,lambda.timeout=0.02 (make run FAULTS=...; default: $FAMILYNET_FAULTS)",
    )
    parser.add_argument(
        "--usage",
        action="store_true",
        default=os.environ.get("FAMILYNET_USAGE") == "1",
        help="meter what the functions' work would be billed for (GET /_local/usage; bench/cost.py prices it)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="populate the system once it is ready: facilitators, partners, a few dozen referrals in every state",
    )
    return parser.parse_args(argv)


def _ready(url: str, runtime: Any, logs: Path, seconds: float) -> str:
    faults = runtime.faults
    return (
        f"familynet is running at {url} (AWS APIs: {runtime.endpoint_url}; logs: {logs}; "
        f"ready in {seconds:.1f} s; Ctrl-C stops it)\n"
        f"  the referral form      {url}/\n"
        f"  the staff console      {url}/staff  (sign in as any local user: no setup)\n"
        f"  the emails sent        {url}/_local/outbox.html\n"
        f'  the clock              {url}/_local/clock  (POST {{"advance_days": N}} moves it on)'
        + (f"\n  faults injected        {url}/_local/faults  ({faults.plan})" if faults and faults.plan.rules else "")
    )


def _usage(args: argparse.Namespace) -> Any:
    """A meter of what the functions' work would be billed for, when asked for (--usage)."""
    from infra.local.usage import Usage  # noqa: PLC0415

    return Usage() if args.usage else None


def _populate(url: str) -> None:
    """`make run DEMO=1`: the demo's referrals made through the running system, while it serves."""
    from infra.local.demo import DemoError, populate  # noqa: PLC0415

    print("demo: making facilitators, partners and a few dozen referrals through the API (about a minute)", flush=True)
    try:
        populate(url, say=lambda line: print(line, flush=True))
    except (DemoError, OSError) as exc:
        print(f"demo: stopped: {exc}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    from infra.local.faults import Faults, FaultSpecError  # noqa: PLC0415
    from infra.local.gateway import Gateway  # noqa: PLC0415
    from infra.local.runtime import LocalRuntime  # noqa: PLC0415
    from infra.local.template import Template  # noqa: PLC0415

    try:
        faults = Faults.from_text(args.faults)  # before the synth: a wrong value is told at once
        template = Template.load(args.template or template_path(BUILD / "cdk.out"))
        faults.plan.check_functions(logical_id for logical_id, _ in template.of_type("AWS::Lambda::Function"))
    except FaultSpecError as exc:
        print(f"familynet did not start: {exc}", file=sys.stderr)
        return 2
    # Listen first: the runtime needs the gateway's address (links in emails point at it) before it provisions.
    try:
        listening = _listen(args.port)
    except OSError as exc:
        print(f"familynet could not listen on 127.0.0.1:{args.port}: {exc.strerror} (set PORT)", file=sys.stderr)
        return 1
    with listening:  # the server works on its own copy of the socket
        port = listening.getsockname()[1]  # the one bound when PORT is 0
        server = make_server("127.0.0.1", port, _not_ready, threaded=True, fd=listening.fileno())
    url = f"http://127.0.0.1:{port}"
    runtime = LocalRuntime(
        template, log_dir=args.logs, echo_logs=args.echo_logs, public_url=url, faults=faults, usage=_usage(args)
    )
    # A plain flag, not a threading.Event: Event.set() in a signal handler can deadlock with the main thread's own
    # Event.wait() (the handler runs on that thread, which may hold the Event's lock).
    stop_requested: list[int] = []

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        runtime.start()
    except BaseException:
        server.server_close()
        runtime.stop()
        raise
    server.app = Gateway.for_runtime(runtime)  # requests wait in the socket's backlog until serve_forever
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    if args.state:
        args.state.parent.mkdir(parents=True, exist_ok=True)
        args.state.write_text(json.dumps({"url": url, "pid": os.getpid(), **runtime.describe()}, indent=1))
    print(_ready(url, runtime, args.logs, time.monotonic() - started), flush=True)
    if args.demo:
        threading.Thread(target=_populate, args=(url,), name="demo", daemon=True).start()
    while not stop_requested:
        time.sleep(0.1)
    # A stop that hangs tells where: every thread's stack goes to stderr after 10 seconds.
    faulthandler.dump_traceback_later(10, exit=False)
    server.shutdown()
    runtime.stop()
    args.state.unlink(missing_ok=True)
    for line in runtime.faults.summary() if runtime.faults else []:
        print(line, flush=True)
    print("familynet stopped", flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    # Straight out, as Ctrl-C should be: the interpreter's own teardown (every object moto and the runtime made, freed
    # one by one) took 17 s after a few minutes of load, longer than the stop itself. Nothing is left to flush.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
