"""The local runtime at volume: N referrals from 8 clients through the gateway of a started `python -m infra.local`.

Each client posts valid referrals as fast as it is answered; 20% of the posts re-send an earlier referral with its
Idempotency-Key, 5% re-send an earlier body with no key. Printed (never asserted): throughput per fifth of the run,
p50/p95 of `POST /referrals`, p50/p95 from a referral's first submission to its acknowledgement in the outbox (SES's
acceptance, stamped by the runtime), how many referrals got exactly one acknowledgement and one coordinators' notice,
and the runtime's RSS at the start, the middle and the end (its workers' too).

BENCH_REFERRALS (default 2,000) sets N; BENCH_CLIENTS (8) the clients; BENCH_ACK_WAIT (60 s) how long the end waits
for the last acknowledgements. The template is synthesized with the daily caps raised (10,000 is their maximum).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
N = max(1, int(os.environ.get("BENCH_REFERRALS", "2000")))
CLIENTS = max(1, int(os.environ.get("BENCH_CLIENTS", "8")))
ACK_WAIT_SECONDS = float(os.environ.get("BENCH_ACK_WAIT", "60"))
CAPS = {"familynet:daily_caps": {"per_referrer": 10000, "per_source": 10000}}
SAME_KEY, SAME_BODY = 0.20, 0.05
ACK_PREFIX, NOTICE_PREFIX = "Referral ", "New referral "


def template() -> Path:
    """The app's template with the caps raised, cached in build/local/load.cdk.out like make run's."""
    from infra.local.__main__ import BUILD, template_path

    os.environ["CDK_CONTEXT_JSON"] = json.dumps(CAPS)
    try:
        return template_path(BUILD / "load.cdk.out")
    finally:
        os.environ.pop("CDK_CONTEXT_JSON", None)


@dataclass
class Runtime:
    process: subprocess.Popen[str]
    url: str
    workdir: Path

    @classmethod
    def start(cls, path: Path, workdir: Path, faults: str = "") -> Runtime:
        workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        if faults:
            env["FAMILYNET_FAULTS"] = faults
        command = [sys.executable, "-m", "infra.local", "--template", str(path), "--port", "0"]
        command += ["--state", str(workdir / "state.json"), "--logs", str(workdir / "logs")]
        with (workdir / "runtime.stderr").open("w") as stderr:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        assert process.stdout is not None
        deadline, line = time.monotonic() + 120, ""
        while time.monotonic() < deadline and not line.startswith("familynet is running at"):
            if select.select([process.stdout], [], [], 0.5)[0]:
                line = process.stdout.readline()
                if not line:
                    break
        if not line.startswith("familynet is running at"):
            process.kill()
            raise SystemExit(f"the runtime did not start: see {workdir / 'runtime.stderr'}")
        return cls(process, line.split(" at ", 1)[1].split()[0], workdir)

    def rss_mib(self) -> tuple[float, float]:
        """The runtime's resident memory, and its workers' together, in MiB."""
        own = _rss(self.process.pid)
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        return own, sum(_rss(pid) for pid in workers)

    def cpu_seconds(self) -> float:
        """CPU time the runtime and its workers have used (user + system): what a referral costs, whatever else
        the machine is doing."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        return sum(_cpu(pid) for pid in [self.process.pid, *workers])

    def cpu_by_process(self) -> dict[str, float]:
        """CPU seconds by function (its workers together), and the runtime's own."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found: dict[str, float] = {"runtime": _cpu(self.process.pid)}
        for pid in [int(p) for p in children.read_text().split()] if children.exists() else []:
            try:
                name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-2].decode().split(".")[1]
            except (OSError, IndexError):
                continue
            found[name] = found.get(name, 0.0) + _cpu(pid)
        return found

    def stop(self) -> tuple[float, str]:
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return time.monotonic() - started, out


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def new_body(n: int) -> dict[str, Any]:
    from tests.conftest import minimal_referral

    body = minimal_referral()
    body["referrer"]["email"] = f"worker{n % 50}@council.example.org"
    body["family"]["children"][0]["first_name"] = f"Child{n}"
    body["reason"] = f"Referral {n} of the load bench: the family needs help with school runs."
    return body


@dataclass
class Watch:
    """The outbox read as it fills, by its sequence (`?after=`): when each reference got each kind of email."""

    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    acks: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    notices: Counter[str] = field(default_factory=Counter)
    emails: int = 0
    cursor: int = 0
    unseen: int = 0  # emails sent but never shown to the watch (trimmed from the outbox before it read them)
    read_seconds: list[float] = field(default_factory=list)

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            self.read_once(session)
            self.stop.wait(0.2)
        self.read_once(session)

    def read_once(self, session: requests.Session) -> None:
        started = time.perf_counter()
        try:
            page = session.get(f"{self.url}/_local/outbox", params={"after": self.cursor}, timeout=30).json()
        except (requests.RequestException, ValueError):
            return
        self.read_seconds.append(time.perf_counter() - started)
        for email in page:
            self.unseen += max(0, int(email["sequence"]) - self.cursor - 1)  # a gap: a miss, not the system's
            self.cursor = max(self.cursor, int(email["sequence"]))
            self.emails += 1
            subject = str(email["subject"])
            stamped = float(email.get("recorded_at") or time.time())
            if subject.startswith(ACK_PREFIX) and subject.endswith(" received"):
                self.acks[subject.split()[1]].append(stamped)
            elif subject.startswith(NOTICE_PREFIX):
                self.notices[subject.split()[2]] += 1


@dataclass
class Load:
    url: str
    plan: list[tuple[str, int]]  # ("new", n) | ("same_key", index of an earlier post) | ("same_body", ...)
    latencies: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)
    first_sent: dict[str, float] = field(default_factory=dict)  # reference → when its first post was sent
    statuses: Counter[int] = field(default_factory=Counter)
    posted: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict)  # plan index → (body, key)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_index: int = 0
    # As a careful client does: a post answered 5xx (or not at all) is sent again, same body and key, this many times
    retries: int = 0
    retried: int = 0
    references_of: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))  # submission → references

    def take(self) -> int | None:
        with self.lock:
            if self.next_index >= len(self.plan):
                return None
            self.next_index += 1
            return self.next_index - 1

    def client(self) -> None:
        session = requests.Session()
        while (index := self.take()) is not None:
            kind, n = self.plan[index]
            with self.lock:
                earlier = self.posted.get(n) if kind != "new" else None
            if kind == "new" or earlier is None:
                body, key = new_body(n), str(uuid.uuid4())
            elif kind == "same_key":
                body, key = earlier
            else:
                body, key = earlier[0], ""
            headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
            sent = time.time()
            for attempt in range(self.retries + 1):
                status, reference = self.post(session, body, headers)
                if status not in (0, 500, 502, 503, 504) or attempt == self.retries:
                    break
                with self.lock:
                    self.retried += 1
                time.sleep(0.5 * 2**attempt)
            with self.lock:
                if kind == "new":
                    self.posted[n] = (body, key)
                if reference:
                    self.first_sent.setdefault(reference, sent)
                    self.references_of[n].add(reference)

    def post(self, session: requests.Session, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, str | None]:
        started = time.perf_counter()
        try:
            answer = session.post(f"{self.url}/referrals", data=json.dumps(body), headers=headers, timeout=60)
            status = answer.status_code
            reference = answer.json().get("reference") if status in (200, 201) else None
        except (requests.RequestException, ValueError):
            status, reference = 0, None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies.append(elapsed)
            self.finished_at.append(time.perf_counter())
            self.statuses[status] += 1
        return status, reference


def planned(n: int, seed: int = 17) -> list[tuple[str, int]]:
    chooser = random.Random(seed)
    plan: list[tuple[str, int]] = []
    news = 0
    for _ in range(n):
        roll = chooser.random()
        if news and roll < SAME_KEY:
            plan.append(("same_key", chooser.randrange(max(0, news - 50), news)))
        elif news and roll < SAME_KEY + SAME_BODY:
            plan.append(("same_body", chooser.randrange(max(0, news - 50), news)))
        else:
            plan.append(("new", news))
            news += 1
    return plan


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(
    n: int = N,
    clients: int = CLIENTS,
    faults: str = "",
    workdir: Path | None = None,
    ack_wait: float = ACK_WAIT_SECONDS,
) -> dict[str, Any]:
    """One run on a fresh runtime; returns the figures (also what the make test guard asserts on)."""
    workdir = workdir or Path(f"/tmp/familynet-load-{os.getpid()}")
    runtime = Runtime.start(template(), workdir, faults)
    rss = {"start": runtime.rss_mib()}
    load = Load(runtime.url, planned(n))
    watch = Watch(runtime.url)
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    threads = [threading.Thread(target=load.client, daemon=True) for _ in range(clients)]
    cpu_before = runtime.cpu_seconds()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        if "middle" not in rss and len(load.latencies) >= n // 2:
            rss["middle"] = runtime.rss_mib()
        time.sleep(0.2)
    posted_in = time.perf_counter() - started
    cpu_posting = runtime.cpu_seconds() - cpu_before
    rss.setdefault("middle", runtime.rss_mib())
    references = set(load.first_sent)
    deadline = time.monotonic() + ack_wait
    while time.monotonic() < deadline and not (
        all(r in watch.acks for r in references) and all(watch.notices[r] for r in references)
    ):
        time.sleep(0.5)
    watch.stop.set()
    watcher.join(timeout=30)
    rss["end"] = runtime.rss_mib()
    cpu_all = runtime.cpu_seconds() - cpu_before
    cpu_split = runtime.cpu_by_process()
    stop_seconds, stopped_output = runtime.stop()
    ack_latency = [watch.acks[r][0] - load.first_sent[r] for r in references if watch.acks.get(r)]
    fifths = []
    ends = sorted(load.finished_at)
    for part in range(5):
        chunk = ends[part * len(ends) // 5 : (part + 1) * len(ends) // 5]
        if len(chunk) > 1:
            fifths.append((len(chunk) - 1) / max(1e-9, chunk[-1] - chunk[0]))
    return {
        "posts": n,
        "clients": clients,
        "referrals": len(references),
        "statuses": dict(load.statuses),
        "posted_seconds": posted_in,
        "throughput": n / posted_in,
        "throughput_by_fifth": fifths,
        "post_p50": percentile(load.latencies, 0.5),
        "post_p95": percentile(load.latencies, 0.95),
        "ack_p50": percentile(ack_latency, 0.5),
        "ack_p95": percentile(ack_latency, 0.95),
        "acknowledged_once": sum(1 for r in references if len(watch.acks.get(r, [])) == 1),
        "acknowledged_twice": sum(1 for r in references if len(watch.acks.get(r, [])) > 1),
        "unacknowledged": sorted(r for r in references if not watch.acks.get(r)),
        "noticed_once": sum(1 for r in references if watch.notices[r] == 1),
        "emails": watch.emails,
        "emails_unseen": watch.unseen,
        "outbox_read_p95": percentile(watch.read_seconds, 0.95),
        "rss": rss,
        "cpu_ms_per_post": 1000 * cpu_all / n,
        "cpu_ms_by_process": {name: 1000 * seconds / n for name, seconds in cpu_split.items()},
        "cpu_cores_while_posting": cpu_posting / posted_in,
        "stop_seconds": stop_seconds,
        "stopped_output": stopped_output,
    }


def report(figures: dict[str, Any]) -> None:
    rss = figures["rss"]
    print(f"load: {figures['posts']} POST /referrals from {figures['clients']} clients ({os.cpu_count()} CPUs)")
    print(f"  referrals created {figures['referrals']}; answers {figures['statuses']}")
    print(
        f"  throughput {figures['throughput']:.1f} posts/s over {figures['posted_seconds']:.1f} s; by fifth: "
        + ", ".join(f"{t:.1f}" for t in figures["throughput_by_fifth"])
    )
    print(f"  POST /referrals p50 {figures['post_p50'] * 1000:.0f} ms, p95 {figures['post_p95'] * 1000:.0f} ms")
    print(f"  submission -> acknowledgement p50 {figures['ack_p50']:.2f} s, p95 {figures['ack_p95']:.2f} s")
    print(
        f"  acknowledged once {figures['acknowledged_once']}, more than once {figures['acknowledged_twice']}, "
        f"never {len(figures['unacknowledged'])}; coordinators' notice once {figures['noticed_once']}; "
        f"emails {figures['emails']} (outbox page read p95 {figures['outbox_read_p95'] * 1000:.0f} ms; "
        f"sent but never shown to this count: {figures['emails_unseen']})"
    )
    print(
        "  runtime RSS (MiB, runtime + workers): "
        + ", ".join(f"{when} {own:.0f} + {workers:.0f}" for when, (own, workers) in rss.items())
    )
    print(
        f"  CPU (runtime + workers) {figures['cpu_ms_per_post']:.0f} ms per post, all effects included; "
        f"{figures['cpu_cores_while_posting']:.2f} cores used while posting (load average {os.getloadavg()[0]:.1f})"
    )
    print("    of which " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(figures["cpu_ms_by_process"].items())))
    print(f"  stopped in {figures['stop_seconds']:.1f} s")
    for line in figures["stopped_output"].splitlines():
        if line.startswith("faults"):
            print(f"  {line}")


if __name__ == "__main__":
    report(run())
