"""Faults on demand: the emulated AWS APIs fail a share of the functions' calls, as AWS does on a bad day.

`make run FAULTS="dynamodb.throttle=0.05,events.fail=0.05,ses.throttle=0.05,ses.reject=0.01,lambda.timeout=0.02"`
(the env var FAMILYNET_FAULTS does the same for anything that starts a LocalRuntime, tests included). Each rule is
`<kind>=<share>` (a number from 0 to 1, or a percentage: `5%`); `dynamodb.throttle` and `lambda.timeout` also take a
target after a colon, which then overrides the general share: a DynamoDB operation (`TransactWriteItems`), or a
write by its action and kind of item, the sort key's first part (`TransactWriteItems/Update/EMAIL`: the write that
records SES's answer; `PutItem/EMAIL`), or a fragment of a function's name (`lambda.timeout:EventRelay=0.1`);
`seed=N` fixes the random draws.

Where each fault strikes (never in the runtime's own plumbing: its pollers, stream reader, clock and outbox make
their calls without a function's identity and are never failed):
- `dynamodb.throttle`: a DynamoDB call from a function is answered ProvisionedThroughputExceededException
  (ThrottlingException for a transaction) before moto sees it. Each attempt of the SDK's retries is drawn anew.
- `events.fail`: each PutEvents entry from a function fails on its own (FailedEntryCount, an ErrorCode per entry);
  moto receives the others.
- `ses.throttle` / `ses.reject`: an SES send is answered TooManyRequestsException (nothing sent) or MessageRejected
  (refused for good).
- `lambda.timeout`: an invocation's deadline comes early (the handler sees it in `get_remaining_time_in_millis`); the
  local Lambda kills the environment at that deadline, as Lambda does, and the caller gets a timeout: the work done
  before it stays done, whatever the function had not finished is not.

The functions' workers name themselves in their calls' User-Agent (`AWS_SDK_UA_APP_ID`, set by functions.py); the
middleware wraps moto's server application. What each fault hits is counted (`GET /_local/faults`) and printed when
the runtime stops; `POST /_local/faults {"spec": "..."}` changes the rules of a running runtime (the counts go on).
"""

from __future__ import annotations

import functools
import io
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ENV_FAULTS = "FAMILYNET_FAULTS"
APP_ID_PREFIX = "fn-"  # a worker's User-Agent carries app/fn-<function>: a function's call, which faults may hit
DEFAULT_SEED = 17

KINDS: dict[str, str] = {
    "dynamodb.throttle": "DynamoDB calls answered ProvisionedThroughputExceededException / ThrottlingException",
    "events.fail": "PutEvents entries refused (FailedEntryCount, with an ErrorCode per entry)",
    "ses.throttle": "SES sends answered TooManyRequestsException (nothing sent)",
    "ses.reject": "SES sends refused for good (MessageRejected)",
    "lambda.timeout": "function invocations timing out",
}
TARGETED = {"dynamodb.throttle": "a DynamoDB operation", "lambda.timeout": "a fragment of a function's name"}
_RULE = re.compile(r"^(?P<kind>[a-z]+\.[a-z]+)(?::(?P<target>[A-Za-z0-9_/-]{1,64}))?$")
_WRITE_TARGET = re.compile(r"^(?P<operation>[A-Za-z]+)(?:/(?P<action>Put|Update|Delete|ConditionCheck))?/[A-Z_]+$")
_SHARE = re.compile(r"^(?P<number>[0-9]{1,3}(?:\.[0-9]{1,6})?|\.[0-9]{1,6})(?P<percent>%?)$")
USAGE = (
    "write the faults as comma-separated kind=share rules, a share from 0 to 1 (or 0% to 100%), e.g. "
    "dynamodb.throttle=0.05,events.fail=0.05,ses.throttle=0.05,ses.reject=0.01,lambda.timeout=0.02; "
    f"the kinds are {', '.join(KINDS)}; dynamodb.throttle:<Operation> (or <Operation>/<Action>/<KIND>, e.g. "
    "TransactWriteItems/Update/EMAIL) and lambda.timeout:<function> aim at one operation, kind of write or function; "
    "seed=N fixes the draws"
)


class FaultSpecError(ValueError):
    """A FAULTS value that cannot be read: the message says what is wrong and how to write it."""


@dataclass(frozen=True)
class Rule:
    kind: str
    target: str | None
    share: float

    def __str__(self) -> str:
        return f"{self.kind}{':' + self.target if self.target else ''}={self.share:g}"


@dataclass(frozen=True)
class FaultPlan:
    rules: tuple[Rule, ...] = ()
    seed: int = DEFAULT_SEED

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        rules: dict[tuple[str, str | None], Rule] = {}
        seed = DEFAULT_SEED
        for raw in (part.strip() for part in text.split(",")):
            if not raw:
                continue
            name, equals, value = raw.partition("=")
            name, value = name.strip(), value.strip()
            if not equals or not value:
                raise FaultSpecError(f"FAULTS: {raw!r} has no value: {USAGE}")
            if name == "seed":
                if not (value.isascii() and value.isdigit() and len(value) <= 12):
                    raise FaultSpecError(f"FAULTS: seed={value!r} is not a whole number: {USAGE}")
                seed = int(value)
                continue
            found = _RULE.fullmatch(name)
            if found is None or found["kind"] not in KINDS:
                raise FaultSpecError(f"FAULTS: {name!r} is not a fault: {USAGE}")
            kind, target = found["kind"], found["target"]
            if target and kind not in TARGETED:
                raise FaultSpecError(f"FAULTS: {kind} takes no target (only {', '.join(TARGETED)} do): {USAGE}")
            if target and kind == "dynamodb.throttle" and not _dynamodb_target(target):
                raise FaultSpecError(
                    f"FAULTS: {target!r} is not a DynamoDB operation (e.g. TransactWriteItems, GetItem, Query) or a "
                    "write by action and kind of item (TransactWriteItems/Update/EMAIL, PutItem/REFERRAL)"
                )
            share = _share(value)
            if share is None:
                raise FaultSpecError(f"FAULTS: {name}={value!r}: the share must be from 0 to 1 (or 0% to 100%)")
            if (kind, target) in rules:
                raise FaultSpecError(f"FAULTS: {name} is given twice")
            rules[(kind, target)] = Rule(kind, target, share)
        return cls(tuple(rules.values()), seed)

    def check_functions(self, names: Iterable[str]) -> None:
        """A lambda.timeout target must name at least one of the template's functions."""
        known = list(names)
        for rule in self.rules:
            if (
                rule.kind == "lambda.timeout"
                and rule.target
                and not any(rule.target.lower() in n.lower() for n in known)
            ):
                raise FaultSpecError(
                    f"FAULTS: lambda.timeout:{rule.target} names no function; the functions are "
                    + ", ".join(sorted(known))
                )

    def share(self, kind: str, target: str | None = None, detail: str | None = None) -> float:
        """The share for this kind at this target (a DynamoDB operation, with the write's detail: its action and
        kind of item; a function): the most precise rule that matches wins."""
        general, operation = 0.0, None
        for rule in self.rules:
            if rule.kind != kind:
                continue
            if rule.target is None:
                general = rule.share
            elif kind != "dynamodb.throttle":
                if target is not None and rule.target.lower() in target.lower():
                    return rule.share
            elif detail is not None and rule.target == detail:
                return rule.share
            elif rule.target == target:
                operation = rule.share
        return operation if operation is not None else general

    def by_detail(self, kind: str) -> bool:
        """Whether a rule aims at a write's action and kind of item (the request must be read to know)."""
        return any(rule.kind == kind and rule.target and "/" in rule.target for rule in self.rules)

    def has(self, *kinds: str) -> bool:
        return any(rule.kind in kinds and rule.share > 0 for rule in self.rules)

    def __str__(self) -> str:
        return ",".join([*(str(rule) for rule in self.rules), f"seed={self.seed}"])


def _share(value: str) -> float | None:
    found = _SHARE.fullmatch(value)
    if found is None:
        return None
    share = float(found["number"]) / (100 if found["percent"] else 1)
    return share if 0 <= share <= 1 else None


def _dynamodb_target(target: str) -> bool:
    found = _WRITE_TARGET.fullmatch(target)
    return (found["operation"] if found else target) in dynamodb_operations()


@functools.cache
def dynamodb_operations() -> frozenset[str]:
    import botocore.session  # noqa: PLC0415

    return frozenset(botocore.session.get_session().get_service_model("dynamodb").operation_names)


@dataclass
class Faults:
    """The plan, its seeded draws and what they hit. Thread-safe: moto's server answers on many threads."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, what it hit) → times
    seen: Counter[str] = field(default_factory=Counter)  # kind → calls (entries, sends, invocations) it could hit
    gave_up: Counter[tuple[str, str]] = field(default_factory=Counter)  # throttled on the SDK's last attempt
    rejected: list[dict[str, str]] = field(default_factory=list)  # the emails ses.reject refused (ids only)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.plan.seed)  # noqa: S311 - seeded draws, not secrets

    @classmethod
    def from_text(cls, text: str) -> Faults:
        return cls(FaultPlan.parse(text))

    def replace(self, plan: FaultPlan) -> None:
        with self._lock:
            if plan.seed != self.plan.seed:
                self._random = random.Random(plan.seed)  # noqa: S311 - seeded draws, not secrets
            self.plan = plan

    def draw(self, kind: str, target: str | None = None, detail: str | None = None) -> bool:
        """Whether this call (entry, send, invocation) fails; counted as seen either way."""
        share = self.plan.share(kind, target, detail)
        with self._lock:
            self.seen[kind] += 1
            return share > 0 and self._random.random() < share

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._random.uniform(low, high)

    def hit(self, kind: str, what: str, *, last_attempt: bool = False) -> None:
        with self._lock:
            self.hits[(kind, what)] += 1
            if last_attempt:
                self.gave_up[(kind, what)] += 1

    def reject(self, tags: dict[str, str]) -> None:
        with self._lock:
            self.rejected.append(tags)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            injected: dict[str, dict[str, int]] = {}
            for (kind, what), count in sorted(self.hits.items()):
                injected.setdefault(kind, {})[what] = count
            gave_up: dict[str, dict[str, int]] = {}
            for (kind, what), count in sorted(self.gave_up.items()):
                gave_up.setdefault(kind, {})[what] = count
            return {
                "spec": str(self.plan),
                "injected": injected,
                "seen": dict(self.seen),
                "sdk_gave_up": gave_up,
                "rejected_emails": list(self.rejected),
            }

    def summary(self) -> list[str]:
        """What the faults hit, one line per kind, each starting with 'faults' (printed when the runtime stops);
        nothing when no fault was ever asked for."""
        described = self.describe()
        if not self.plan.rules and not self.hits:
            return []
        lines = [f"faults injected ({described['spec']}):"]
        for kind in KINDS:
            hit = described["injected"].get(kind, {})
            if not hit and not self.plan.has(kind):
                continue
            total = sum(hit.values())
            what = ", ".join(f"{name} {count}" for name, count in sorted(hit.items(), key=lambda x: -x[1]))
            gave_up = sum(described["sdk_gave_up"].get(kind, {}).values())
            line = f"faults   {kind}: {total} of {described['seen'].get(kind, 0)}"
            line += f" ({what})" if what else ""
            line += f"; the SDK gave up after its last retry on {gave_up}" if gave_up else ""
            lines.append(line)
        return lines


# --- moto's server: the middleware ----------------------------------------------------------------------------------
_ACTIVE: list[Faults] = []  # the runtime's Faults while it runs (one runtime per process)
_APPLIED = "_familynet_faults"


def activate(faults: Faults | None) -> None:
    """Fail the functions' calls to the runtime's moto from now on as `faults` says (None: no more faults)."""
    install()
    _ACTIVE[:] = [faults] if faults is not None else []


def install() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: PLC0415

    if getattr(DomainDispatcherApplication, _APPLIED, False):
        return
    original = DomainDispatcherApplication.__call__

    @functools.wraps(original)
    def call(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
        faults = _ACTIVE[0] if _ACTIVE else None
        if faults is None or not faults.plan.rules or _caller(environ) is None:
            return original(app, environ, start_response)
        return _with_faults(faults, functools.partial(original, app), environ, start_response)

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign,assignment]
    setattr(DomainDispatcherApplication, _APPLIED, True)


def _caller(environ: dict[str, Any]) -> str | None:
    agent = str(environ.get("HTTP_USER_AGENT", ""))
    found = re.search(r"\bapp/" + re.escape(APP_ID_PREFIX) + r"([A-Za-z0-9_.-]+)", agent)
    return found.group(1) if found else None


def _last_attempt(environ: dict[str, Any]) -> bool:
    """botocore's retries say which attempt a request is (`amz-sdk-request: attempt=2; max=3`)."""
    found = re.search(r"attempt=(\d+);\s*max=(\d+)", str(environ.get("HTTP_AMZ_SDK_REQUEST", "")))
    return found is not None and found.group(1) == found.group(2)


def _body(environ: dict[str, Any]) -> bytes:
    """The request's body, read once and put back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def _answer(start_response: Any, status: str, body: dict[str, Any], content_type: str, **headers: str) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers.items()])
    return [data]


Application = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _with_faults(faults: Faults, app: Application, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target.startswith("DynamoDB_20120810."):
        operation = target.split(".", 1)[1]
        what = _dynamodb_what(operation, _body(environ)) if faults.plan.by_detail("dynamodb.throttle") else None
        if faults.draw("dynamodb.throttle", operation, what.replace(" ", "/") if what else None):
            code = (
                "ThrottlingException" if operation.startswith("Transact") else "ProvisionedThroughputExceededException"
            )
            what = what or _dynamodb_what(operation, _body(environ))
            faults.hit("dynamodb.throttle", what, last_attempt=_last_attempt(environ))
            return _answer(
                start_response,
                "400 Bad Request",
                {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "Rate exceeded (injected fault)"},
                "application/x-amz-json-1.0",
            )
    elif target == "AWSEvents.PutEvents" and faults.plan.has("events.fail"):
        return _put_events(faults, app, environ, start_response)
    elif environ.get("PATH_INFO") == "/v2/email/outbound-emails" and environ.get("REQUEST_METHOD") == "POST":
        if faults.draw("ses.throttle"):
            faults.hit("ses.throttle", "SendEmail", last_attempt=_last_attempt(environ))
            return _ses_error(
                start_response, "429 Too Many Requests", "TooManyRequestsException", "Maximum sending rate exceeded."
            )
        if faults.draw("ses.reject"):
            tags = _email_tags(_body(environ))
            faults.hit("ses.reject", tags.get("template", "SendEmail"))
            faults.reject(tags)
            return _ses_error(
                start_response, "400 Bad Request", "MessageRejected", "Email address is not verified. (injected fault)"
            )
    return app(environ, start_response)


def _ses_error(start_response: Any, status: str, code: str, message: str) -> list[bytes]:
    return _answer(start_response, status, {"message": message}, "application/json", **{"x-amzn-ErrorType": code})


def _dynamodb_what(operation: str, data: bytes) -> str:
    """What a throttled call was about: its operation, and for writes the action and the kind of item (the sort
    key's first part: EMAIL, REFERRAL, SUBMISSION…); ids never."""
    try:
        request = json.loads(data or b"{}")
    except ValueError:
        return operation
    if operation == "TransactWriteItems":
        items = request.get("TransactItems") or [{}]
        action, body = next(iter(dict(items[0]).items()), ("", {}))
        return f"{operation} {action} {_item_kind(dict(body).get('Item') or dict(body).get('Key') or {})}".strip()
    if operation in ("PutItem", "UpdateItem", "DeleteItem", "GetItem"):
        return f"{operation} {_item_kind(request.get('Item') or request.get('Key') or {})}".strip()
    return operation


def _item_kind(key: dict[str, Any]) -> str:
    sort_key = (key.get("sk") or key.get("SK") or {}).get("S", "")
    return str(sort_key).split("#", 1)[0] if sort_key else ""


def _email_tags(data: bytes) -> dict[str, str]:
    """The reference and template of an email from its SES tags (the email tag is event--template--recipient)."""
    try:
        tags = {t["Name"]: t["Value"] for t in json.loads(data or b"{}").get("EmailTags") or []}
    except (ValueError, KeyError, TypeError):
        return {}
    parts = str(tags.get("email", "")).split("--")
    found = {"reference": str(tags.get("reference", ""))}
    if len(parts) == 3:
        found |= {"event_id": parts[0], "template": parts[1]}
    return found


_ERROR_CODES = ("ThrottlingException", "InternalFailure")


def _put_events(faults: Faults, app: Application, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Each entry drawn on its own: moto receives the others, and the answer has every entry in its place."""
    data = _body(environ)
    try:
        request = json.loads(data)
        entries = list(request["Entries"])
    except (ValueError, KeyError, TypeError):
        return app(environ, start_response)  # moto answers what it cannot read
    failing = [faults.draw("events.fail") for _ in entries]
    if not any(failing):
        return app(environ, start_response)
    codes: list[str] = []
    for entry, fails in zip(entries, failing, strict=True):
        if fails:
            code = _ERROR_CODES[len(codes) % 2]
            codes.append(code)
            faults.hit("events.fail", str(entry.get("DetailType", "entry")))
    kept = [entry for entry, fails in zip(entries, failing, strict=True) if not fails]
    answered: list[dict[str, Any]] = []
    if kept:
        body = json.dumps({**request, "Entries": kept}).encode()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda _data: None

        chunks = app(environ, capture)
        try:
            raw = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if not str(captured.get("status", "")).startswith("200"):
            start_response(captured["status"], captured["headers"])
            return [raw]
        answered = list(json.loads(raw).get("Entries") or [])
    results, moto_results, failed_codes = [], iter(answered), iter(codes)
    for fails in failing:
        if fails:
            results.append({"ErrorCode": next(failed_codes), "ErrorMessage": "Injected fault: try again"})
        else:
            results.append(next(moto_results, {"ErrorCode": "InternalFailure", "ErrorMessage": "no answer"}))
    failed = sum(1 for result in results if "ErrorCode" in result)
    return _answer(
        start_response, "200 OK", {"FailedEntryCount": failed, "Entries": results}, "application/x-amz-json-1.1"
    )
