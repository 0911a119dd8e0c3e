"""The whole system on one machine: moto's server, the template's resources, its functions, pollers and clock.

`LocalRuntime(template).start()` is what `make run` and the end-to-end tests run. Everything comes from the
synthesized template: a function, queue, rule, route or environment variable added in `infra/` runs here with no
other change.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra.local.clock import LocalClock, Occurrence, SchedulerDriver, input_of
from infra.local.dead_letters import DeadLetterWatch, watched_queues
from infra.local.faults import ENV_FAULTS, Faults, activate
from infra.local.functions import FunctionError, FunctionHost, reap
from infra.local.moto_isolation import isolate_dynamodb, speed_up_server, trim_streams, wake_all
from infra.local.moto_server import MotoServer
from infra.local.outbox import keep_outbox
from infra.local.pollers import AsyncTargetPoller, Poller, poller_for
from infra.local.provision import LOCAL_PUBLIC_URL, Provisioned, provision
from infra.local.template import LOCAL_REGION, Template
from infra.local.usage import ENV_USAGE, Usage
from infra.local.usage import activate as meter

log = logging.getLogger("familynet.local")
SCHEDULER_TICK_SECONDS = 1.0
TRIM_EVERY_TICKS = 60
SETTLE_CHECK_SECONDS = 0.02
LOCAL_RULE_PREFIX = "local:rule:"


@dataclass
class LocalRuntime:
    template: Template
    log_dir: Path
    echo_logs: bool = False
    endpoint_url: str = ""
    # The gateway's address (an HTTP API's ApiEndpoint, so links in emails work): bind the server first, then start.
    public_url: str = LOCAL_PUBLIC_URL
    provisioned: Provisioned | None = None
    clock: LocalClock = field(default_factory=LocalClock)
    hosts: dict[str, FunctionHost] = field(default_factory=dict)
    pollers: list[Poller] = field(default_factory=list)
    scheduler: SchedulerDriver | None = None
    # Faults injected at the emulated AWS APIs (faults.py): those FAMILYNET_FAULTS names unless given; none at all
    # by default (POST /_local/faults adds some to a running runtime).
    faults: Faults | None = None
    # What the functions' work would be billed for (usage.py; GET /_local/usage, bench/cost.py): metered only when
    # given or FAMILYNET_USAGE=1 (python -m infra.local --usage), as it costs the emulator some time on every call.
    usage: Usage | None = None
    _moto: MotoServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _inflight: int = 0  # scheduled invocations still running
    _inflight_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lifecycle ---------------------------------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        if self.faults is None:
            self.faults = Faults.from_text(os.environ.get(ENV_FAULTS, ""))  # FaultSpecError says what is wrong
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the gateway's server logs every request
        isolate_dynamodb()
        speed_up_server()
        keep_outbox()
        self._moto = MotoServer().start()
        self.endpoint_url = self._moto.endpoint_url
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.provisioned = provision(self.template, self.client, public_url=self.public_url)
        self.faults.plan.check_functions(self.provisioned.functions)
        activate(self.faults)
        if self.usage is None and os.environ.get(ENV_USAGE) == "1":
            self.usage = Usage()
        meter(self.usage)
        for logical_id, function in self.provisioned.functions.items():
            self.hosts[logical_id] = FunctionHost(
                function,
                endpoint_url=self.endpoint_url,
                clock_offset=self.clock.offset_seconds,
                log_dir=self.log_dir,
                echo_logs=self.echo_logs,
                faults=self.faults,
                usage=self.usage,
            )
        for source in self.provisioned.event_sources:
            if source.function not in self.hosts:
                continue
            poller = poller_for(source, self.hosts[source.function], self.client, self._stop)
            self.pollers.append(poller)
            poller.start()
        for target in self.provisioned.lambda_targets:
            if target.function in self.hosts:
                self.pollers.append(AsyncTargetPoller(target, self.hosts[target.function], self.client, self._stop))
                self.pollers[-1].start()
        started = self.clock.now()
        rules = [
            {
                "Name": rule.rule,
                "GroupName": "(EventBridge rules)",
                "ScheduleExpression": rule.expression,
                "CreationDate": started,
                "Target": {"Arn": f"{LOCAL_RULE_PREFIX}{rule.rule}"},
            }
            for rule in self.provisioned.scheduled_rules
        ]
        self.scheduler = SchedulerDriver(
            self.clock, self.client("scheduler"), self._fire, self._settle_quietly, static=rules
        )
        ticker = threading.Thread(target=self._tick, name="scheduler", daemon=True)
        ticker.start()
        self._threads.append(ticker)
        watch = DeadLetterWatch(watched_queues(self.template, self.provisioned.queues), self.client("sqs"), self._stop)
        watch.start()
        self._threads.append(watch)
        return self

    def stop(self) -> None:
        """Stop quickly whatever is in flight: workers first (a poller waiting on one returns at once), then the
        pollers and the clock, then moto."""
        self._stop.set()
        wake_all()
        # Every function's workers at once: idle ones end on their own within a moment, busy ones are killed.
        reap([p for host in self.hosts.values() for p in host.stop(wait=False)], time.monotonic() + 1.5)
        deadline = time.monotonic() + 2
        for thread in [*self.pollers, *self._threads]:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        activate(None)
        meter(None)

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- AWS, as the functions see it --------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            config=Config(retries={"mode": "standard"}),
        )

    def host_for_arn(self, arn: str) -> FunctionHost:
        name = arn.split(":function:", 1)[1].split(":", 1)[0]
        if name not in self.hosts:
            raise LookupError(f"no local function {name!r} (from {arn})")
        return self.hosts[name]

    # --- schedules ---------------------------------------------------------------------------------------------------
    def _tick(self) -> None:
        ticks = 0
        while not self._stop.wait(SCHEDULER_TICK_SECONDS):
            ticks += 1
            try:
                assert self.scheduler is not None
                self.scheduler.tick()
                if ticks % TRIM_EVERY_TICKS == 0:
                    trim_streams()  # stream records older than 24 hours go, as in DynamoDB
            except Exception:  # the next tick tries again; the error is in the log
                log.exception("the local scheduler could not check its schedules")

    def advance(self, days: float) -> dict[str, Any]:
        """Move the clock forward, fire what falls due in order, and wait for the effects to settle."""
        from datetime import timedelta  # noqa: PLC0415

        assert self.scheduler is not None
        fired = self.scheduler.advance(timedelta(days=days))
        self.settle()
        return {"now": self.clock.now().isoformat(), "fired": fired}

    def _fire(self, target: dict[str, Any], occurrence: Occurrence) -> None:
        """Deliver one schedule occurrence to its target, as EventBridge Scheduler's templated targets do."""
        if self._stop.is_set():
            return  # stopping: what is still due fires on the next start
        arn = target["Arn"]
        if arn.startswith(LOCAL_RULE_PREFIX):
            self._fire_rule(arn.removeprefix(LOCAL_RULE_PREFIX), occurrence)
            return
        payload = input_of(target)
        service = arn.split(":")[2]
        if self.usage is not None:
            self.usage.scheduled()  # a Scheduler invocation (an EventBridge scheduled rule, above, is free)
        if service == "lambda":
            # Scheduler invokes Lambda asynchronously; the effect is awaited by settle().
            host = self.host_for_arn(arn)
            self._inflight_change(+1)  # before the thread starts: settle() must see it from now on
            threading.Thread(target=self._invoke_quietly, args=(host, json.loads(payload))).start()
        elif service == "sqs":
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
            extra = {}
            if group := (target.get("SqsParameters") or {}).get("MessageGroupId"):
                extra["MessageGroupId"] = group
            sqs.send_message(QueueUrl=url, MessageBody=payload, **extra)
        elif service == "events":
            parameters = target.get("EventBridgeParameters") or {}
            self.client("events").put_events(
                Entries=[
                    {
                        "EventBusName": arn,
                        "Source": parameters.get("Source", "aws.scheduler"),
                        "DetailType": parameters.get("DetailType", "Scheduled Event"),
                        "Detail": payload,
                        "Time": occurrence.at,
                    }
                ]
            )
        else:
            log.warning("schedule %s targets %s, which the local runtime cannot deliver to", occurrence.name, arn)

    def _fire_rule(self, name: str, occurrence: Occurrence) -> None:
        """An EventBridge scheduled rule: a 'Scheduled Event' (or the target's Input) to each of its targets."""
        assert self.provisioned is not None
        [rule] = [r for r in self.provisioned.scheduled_rules if r.rule == name]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.template.account,
            "time": occurrence.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.template.region,
            "resources": [self.template.get_att(name, "Arn")],
            "detail": {},
        }
        for target in rule.targets:
            body = target.get("Input") or json.dumps(event)
            service = target["Arn"].split(":")[2]
            if service == "sqs":
                sqs = self.client("sqs")
                url = sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[1])["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=body)
            elif service == "events":
                self.client("events").put_events(
                    Entries=[
                        {
                            "EventBusName": target["Arn"],
                            "Source": "aws.events",
                            "DetailType": "Scheduled Event",
                            "Detail": target.get("Input") or "{}",
                        }
                    ]
                )
            else:
                log.warning("rule %s targets %s, which the local runtime cannot deliver to", name, target["Arn"])

    def _invoke_quietly(self, host: FunctionHost, event: Any) -> None:
        try:
            host.invoke(event)
        except FunctionError as exc:
            log.warning("%s failed a scheduled invocation: %s", host.name, exc)
        finally:
            self._inflight_change(-1)

    def _inflight_change(self, delta: int) -> None:
        with self._inflight_lock:
            self._inflight += delta

    # --- waiting for effects -----------------------------------------------------------------------------------------
    def settle(self, timeout: float = 30.0, quiet_rounds: int = 2) -> bool:
        """Wait until nothing is in flight: every poller quiet (its last poll found nothing and nothing has arrived
        since) `quiet_rounds` checks in a row, with no delivery or invocation anywhere in between. Messages waiting
        out a visibility timeout are not awaited. A check costs no call to moto: each new message or stream record
        sets its poller's wake event (forcing every poller to poll, as before, cost ~60 ms of the runtime's CPU a
        round; the clock's 90 days fire ~270 schedules, each settled in turn)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline and not self._stop.is_set():
            before = self._activity()
            time.sleep(SETTLE_CHECK_SECONDS)
            if (
                self._activity() == before
                and self._inflight == 0
                and all(p.quiet or not p.is_alive() for p in self.pollers)
            ):
                quiet += 1
                if quiet >= quiet_rounds:
                    return True
            else:
                quiet = 0
        return False

    def _settle_quietly(self) -> None:
        if not self.settle():
            log.warning("the system did not settle within the time allowed; going on")

    def _activity(self) -> tuple[int, ...]:
        return (*(p.deliveries for p in self.pollers), *(h.invocations for h in self.hosts.values()))

    def describe(self) -> dict[str, Any]:
        assert self.provisioned is not None
        return {
            "aws_endpoint_url": self.endpoint_url,
            "region": LOCAL_REGION,
            "functions": sorted(self.hosts),
            "tables": self.provisioned.tables,
            "buses": self.provisioned.buses,
            "queues": self.provisioned.queues,
            "logs": str(self.log_dir),
        }


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `condition()` is truthy; return its value (or raise TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)
