"""The local API gateway: the template's HTTP API routes as API Gateway v2 (payload 2.0) events, JWT checks by the
local issuer, and the local-only routes of the design (outbox, clock, token). The web form at `/` is one of the
template's routes, served by its function as in AWS.

It also plays the template's CloudFront distribution (infra/constructs/cdn.py), so the same code runs as deployed:
each request gets the origin's custom headers (the origin secret) and CloudFront-Viewer-Address from the client's
socket, replacing any the client sent; each answer gets the response headers policy's headers it lacks.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from infra.local.cognito import LocalCognito
from infra.local.faults import FaultPlan, FaultSpecError
from infra.local.functions import FunctionError
from infra.local.issuer import InvalidToken, LocalIssuer, api_gateway_claims
from infra.local.outbox import attachment, outbox_page, sent_emails
from infra.local.provision import LOCAL_COGNITO_PATH
from infra.local.runtime import LocalRuntime
from infra.local.template import Template

log = logging.getLogger("familynet.local")
MAX_ADVANCE_DAYS = 3660
# HTTP APIs pass these bodies as text and base64-encode every other, form posts included.
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "+json", "+xml")
_ATTACHMENT = re.compile(r"/_local/outbox/([A-Za-z0-9_-]{1,100})/attachments/([0-9]{1,2})")  # an outbox email's file


@dataclass(frozen=True)
class Authorizer:
    issuer: str
    audience: list[str]


@dataclass(frozen=True)
class Route:
    route_key: str  # "POST /referrals", "GET /referrals/{id}", "ANY /{proxy+}", "$default"
    function: str  # logical id
    authorizer: Authorizer | None
    scopes: list[str]
    pattern: re.Pattern[str] | None

    @property
    def method(self) -> str:
        return self.route_key.split(" ", 1)[0] if self.route_key != "$default" else "ANY"

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers the most specific route: fewer (and no greedy) parameters, longer paths first."""
        if self.pattern is None:
            return (9, 0)
        path = self.route_key.split(" ", 1)[1]
        return (1 if "+}" in path else 0, -len(path.split("/")) + path.count("{"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {}
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def routes_of(template: Template) -> list[Route]:
    """Every route of the template's HTTP APIs, with the function its integration invokes."""
    integrations: dict[str, str] = {}
    for logical_id, raw in template.of_type("AWS::ApiGatewayV2::Integration"):
        uri = json.dumps(raw.get("IntegrationUri"))
        functions = [name for name, _ in template.of_type("AWS::Lambda::Function") if f'"{name}"' in uri]
        if len(functions) == 1:
            integrations[logical_id] = functions[0]
    authorizers: dict[str, Authorizer] = {}
    for logical_id, raw in template.of_type("AWS::ApiGatewayV2::Authorizer"):
        if raw.get("AuthorizerType") != "JWT":
            continue
        config = template.resolve(raw.get("JwtConfiguration", {}))
        authorizers[logical_id] = Authorizer(issuer=str(config.get("Issuer", "")), audience=config.get("Audience", []))
    routes = []
    for _, raw in template.of_type("AWS::ApiGatewayV2::Route"):
        target = json.dumps(raw.get("Target"))
        integration = next((name for name in integrations if f'"{name}"' in target), None)
        if integration is None:
            continue
        authorizer_ref = json.dumps(raw.get("AuthorizerId"))
        authorizer = next((a for name, a in authorizers.items() if f'"{name}"' in authorizer_ref), None)
        route_key = raw["RouteKey"]
        routes.append(
            Route(
                route_key=route_key,
                function=integrations[integration],
                authorizer=authorizer if raw.get("AuthorizationType") == "JWT" else None,
                scopes=list(raw.get("AuthorizationScopes") or []),
                pattern=None if route_key == "$default" else _path_pattern(route_key.split(" ", 1)[1]),
            )
        )
    return sorted(routes, key=lambda r: r.specificity)


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = []
    for segment in re.split(r"(\{[^}]+\})", path):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("".join(parts))


VIEWER_ADDRESS = "cloudfront-viewer-address"


@dataclass(frozen=True)
class Edge:
    """What the template's CloudFront distribution does to each request and answer."""

    origin_headers: dict[str, str]  # lower-case name → value (the origin's custom headers)
    viewer_address: bool  # the origin request policy forwards CloudFront-Viewer-Address
    response_headers: dict[str, str]  # added where the answer has none (the policy's headers, override off)

    def request_headers(self, headers: dict[str, str], remote_addr: str | None, remote_port: Any) -> dict[str, str]:
        """A client cannot set what CloudFront sets: its own values are replaced, never passed on."""
        kept = {k: v for k, v in headers.items() if k not in self.origin_headers and k != VIEWER_ADDRESS}
        kept.update(self.origin_headers)
        if self.viewer_address and remote_addr:
            # As CloudFront writes it: the address, a colon, the port (IPv6 without brackets).
            kept[VIEWER_ADDRESS] = f"{remote_addr}:{remote_port or 0}"
        return kept

    def answer(self, response: Response) -> Response:
        for name, value in self.response_headers.items():
            if name not in response.headers:
                response.headers[name] = value
        return response


def edge_of(template: Template) -> Edge | None:
    """The distribution's origin headers and response headers policy, resolved as deployed (the origin secret's value
    from the local secret), or None when the template has no distribution."""
    distributions = [props for _, props in template.of_type("AWS::CloudFront::Distribution")]
    if len(distributions) != 1:
        return None
    config = distributions[0]["DistributionConfig"]
    [origin] = config["Origins"]
    origin_headers = {
        str(h["HeaderName"]).lower(): str(template.resolve(h["HeaderValue"]))
        for h in origin.get("OriginCustomHeaders", [])
    }
    behavior = config["DefaultCacheBehavior"]
    viewer_address = False
    if "Ref" in (behavior.get("OriginRequestPolicyId") or {}):
        policy = template.resources[behavior["OriginRequestPolicyId"]["Ref"]]["Properties"]["OriginRequestPolicyConfig"]
        named = policy.get("HeadersConfig", {}).get("Headers", [])
        viewer_address = VIEWER_ADDRESS in [str(h).lower() for h in named]
    response_headers: dict[str, str] = {}
    if "Ref" in (behavior.get("ResponseHeadersPolicyId") or {}):
        policy = template.resources[behavior["ResponseHeadersPolicyId"]["Ref"]]["Properties"]
        response_headers = _policy_headers(policy["ResponseHeadersPolicyConfig"])
    return Edge(origin_headers, viewer_address, response_headers)


def _policy_headers(config: dict[str, Any]) -> dict[str, str]:
    security = config.get("SecurityHeadersConfig", {})
    headers: dict[str, str] = {}
    if csp := security.get("ContentSecurityPolicy"):
        headers["Content-Security-Policy"] = csp["ContentSecurityPolicy"]
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if frame := security.get("FrameOptions"):
        headers["X-Frame-Options"] = frame["FrameOption"]
    if referrer := security.get("ReferrerPolicy"):
        headers["Referrer-Policy"] = referrer["ReferrerPolicy"]
    if hsts := security.get("StrictTransportSecurity"):
        value = f"max-age={hsts['AccessControlMaxAgeSec']}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        headers["Strict-Transport-Security"] = value + ("; preload" if hsts.get("Preload") else "")
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[item["Header"]] = item["Value"]
    return headers


class Gateway:
    def __init__(self, runtime: LocalRuntime, issuer: LocalIssuer) -> None:
        self.runtime = runtime
        self.issuer = issuer
        self.routes = routes_of(runtime.template)
        self.cognito = LocalCognito.for_template(runtime.template, issuer)
        self.edge = edge_of(runtime.template)

    @classmethod
    def for_runtime(cls, runtime: LocalRuntime) -> Gateway:
        authorizers = [r.authorizer for r in routes_of(runtime.template) if r.authorizer]
        # Tokens are for the issuer most JWT routes trust (the staff user pool's).
        issuers = [a.issuer for a in authorizers]
        issuer_url = max(set(issuers), key=issuers.count) if issuers else "https://familynet.local/issuer"
        audience = sorted({aud for a in authorizers for aud in a.audience}) or ["familynet-local"]
        return cls(runtime, LocalIssuer(issuer_url, audience=audience))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self.handle(request)
        except HTTPException as exc:
            response = _json({"message": exc.description}, exc.code or 500)
        except Exception:
            log.exception("the local gateway failed on %s %s", request.method, request.path)
            response = _json({"message": "Internal Server Error"}, 500)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_local/"):  # first: a greedy route of the app must not hide the local tools
            return self._local(request)
        response = self._route(request)
        return self.edge.answer(response) if self.edge is not None else response

    def _route(self, request: Request) -> Response:
        for route in self.routes:
            parameters = route.match(request.method, request.path)
            if parameters is not None:
                return self._invoke(route, parameters, request)
        return _json({"message": "Not Found"}, 404)

    # --- API routes --------------------------------------------------------------------------------------------------
    def _invoke(self, route: Route, parameters: dict[str, str], request: Request) -> Response:
        authorizer: dict[str, Any] | None = None
        if route.authorizer is not None:
            claims = self._authorize(route, request)
            if claims is None:
                return _json({"message": "Unauthorized"}, 401, {"www-authenticate": "Bearer"})
            scopes = str(claims.get("scope", "")).split()
            if route.scopes and not set(route.scopes) & set(scopes):
                return _json({"message": "Forbidden"}, 403)
            authorizer = {"jwt": {"claims": api_gateway_claims(claims), "scopes": scopes or None}}
        host = self.runtime.hosts[route.function]
        event = api_event(route, parameters, request, authorizer)
        if self.edge is not None:
            port = request.environ.get("REMOTE_PORT") or 0
            event["headers"] = self.edge.request_headers(event["headers"], request.remote_addr, port)
        try:
            result = host.invoke(event)
        except FunctionError as exc:
            log.warning("%s failed %s: %s (details in its log)", host.name, route.route_key, exc.kind)
            return _json({"message": "Internal Server Error"}, 500)
        return lambda_response(result)

    def _authorize(self, route: Route, request: Request) -> dict[str, Any] | None:
        assert route.authorizer is not None
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else header
        if not token:
            return None
        try:
            claims = self.issuer.verify(token)
        except InvalidToken:
            return None
        audience = claims.get("aud", claims.get("client_id", []))
        audience = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != route.authorizer.issuer or not set(audience) & set(route.authorizer.audience):
            return None
        return claims

    # --- local-only routes -------------------------------------------------------------------------------------------
    def _local(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path.startswith(LOCAL_COGNITO_PATH + "/") and self.cognito is not None:
            return self.cognito.handle(request) or _json({"message": "Not Found"}, 404)
        if path == "/_local/outbox" and method == "GET":
            after = request.args.get("after", "")
            if after and not (after.isascii() and after.isdigit() and len(after) <= 12):
                return _json({"message": "after is the sequence number of the last email read (0 at first)"}, 400)
            return _json(sent_emails(int(after) if after else None), 200)
        if path == "/_local/outbox.html" and method == "GET":
            return Response(outbox_page(sent_emails()), 200, content_type="text/html; charset=utf-8")
        if (found := _ATTACHMENT.fullmatch(path)) and method == "GET":
            attached = attachment(found.group(1), int(found.group(2)))
            if attached is None:
                return _json({"message": "There is no such attachment"}, 404)
            data, content_type, filename = attached
            disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
            return Response(data, 200, content_type=content_type, headers=disposition)
        if path == "/_local/clock" and method == "POST":
            return self._advance(request)
        if path == "/_local/clock" and method == "GET":
            return _json({"now": self.runtime.clock.now().isoformat()}, 200)
        if path == "/_local/faults" and method in ("GET", "POST"):
            return self._faults(request)
        if path == "/_local/usage" and method == "GET":  # what the functions' work would be billed for (usage.py)
            if self.runtime.usage is None:
                message = "Nothing is metered: start the runtime with --usage (or FAMILYNET_USAGE=1) to meter it"
                return _json({"message": message}, 404)
            return _json(self.runtime.usage.describe(), 200)
        if path == "/_local/openapi.json" and method == "GET":
            from generators.api_catalogue import render  # noqa: PLC0415

            return _json(render(), 200)
        if path == "/_local/token" and method == "GET":
            role, kind = request.args.get("role", "coordinator"), request.args.get("kind", "access")
            scopes = tuple(sorted({scope for route in self.routes for scope in route.scopes}))
            try:
                token = self.issuer.token(role, kind=kind, scopes=scopes if kind == "access" else ())
            except ValueError as exc:
                return _json({"message": str(exc)}, 400)
            answer = {"token": token, "token_type": "Bearer", "role": role, "kind": kind, "expires_in": 3600}
            return _json(answer, 200)
        return _json({"message": "Not Found"}, 404)

    def _faults(self, request: Request) -> Response:
        """What the injected faults hit (GET); new rules for them from now on (POST {"spec": "..."})."""
        if request.method == "POST":
            body = request.get_json(silent=True)
            spec = body.get("spec") if isinstance(body, dict) else None
            if not isinstance(spec, str) or len(spec) > 2000:
                return _json({"message": 'Send {"spec": "dynamodb.throttle=0.05,..."} ("" turns faults off)'}, 400)
            try:
                plan = FaultPlan.parse(spec)
                plan.check_functions(self.runtime.hosts)
            except FaultSpecError as exc:
                return _json({"message": str(exc)}, 400)
            assert self.runtime.faults is not None  # started: it has its faults (maybe none)
            self.runtime.faults.replace(plan)
        return _json(self.runtime.faults.describe() if self.runtime.faults else {}, 200)

    def _advance(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        days = body.get("advance_days") if isinstance(body, dict) else None
        if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days <= MAX_ADVANCE_DAYS:
            return _json({"message": f'Send {{"advance_days": N}} with N a number from 0 to {MAX_ADVANCE_DAYS}'}, 400)
        return _json(self.runtime.advance(days), 200)


def api_event(
    route: Route, parameters: dict[str, str], request: Request, authorizer: dict[str, Any] | None
) -> dict[str, Any]:
    """The request as API Gateway HTTP API delivers it to Lambda (payload format 2.0)."""
    body_bytes = request.get_data()
    content_type = request.headers.get("Content-Type", "")
    is_text = not body_bytes or any(marker in content_type for marker in _TEXT_TYPES)
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        if name.lower() == "cookie":
            continue
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, values in request.args.lists():
        query[name] = ",".join(values)
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": uuid.uuid4().hex[:16],
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(time.time() * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": not is_text,
    }
    if cookies := request.headers.get("Cookie"):
        event["cookies"] = [c.strip() for c in cookies.split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if parameters:
        event["pathParameters"] = parameters
    if body_bytes:
        try:
            text = body_bytes.decode("utf-8") if is_text else None
        except UnicodeDecodeError:  # never replaced: passed on as bytes, for the function to refuse
            text = None
        event["isBase64Encoded"] = text is None
        event["body"] = text if text is not None else base64.b64encode(body_bytes).decode()
    return event


def lambda_response(result: Any) -> Response:
    """A function's answer as API Gateway turns it into HTTP (payload 2.0, including its 'simple' form)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), 200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, int(result["statusCode"]))
    response.headers.remove("Content-Type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    if "Content-Type" not in response.headers and data:
        response.headers["Content-Type"] = "application/json"
    return response


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, indent=1), status, headers=headers, content_type="application/json")
