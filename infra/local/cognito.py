"""The user pool's web endpoints, served by the local gateway from what the template says of the pool, its domain and
its app clients: the managed login (a page listing the local users), the token endpoint (authorization code with
PKCE), the JWKS under the issuer, and logout. The console signs in through these exactly as it does in AWS: the
template's addresses of the pool's domain and issuer resolve to here (infra/local/provision.py, `_user_pools`).

Local users, one per kind of person the console must handle: two coordinators, a manager, and someone signed in
but in no group. Tokens are signed by the local issuer, the same key the gateway's JWT authorizer trusts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.issuer import LocalIssuer
from infra.local.provision import LOCAL_COGNITO_PATH
from infra.local.template import Template

CODE_SECONDS = 300
TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class LocalUser:
    username: str
    name: str
    email: str
    groups: tuple[str, ...]


LOCAL_USERS = (
    LocalUser("coordinator", "Alex Morgan", "alex.morgan@familynet.example.org", ("coordinators",)),
    LocalUser("coordinator-2", "Priya Shah", "priya.shah@familynet.example.org", ("coordinators",)),
    LocalUser("manager", "Chris Lee", "chris.lee@familynet.example.org", ("managers",)),
    LocalUser("no-group", "Jamie Doe", "jamie.doe@familynet.example.org", ()),
)


@dataclass(frozen=True)
class _Client:
    client_id: str
    callbacks: tuple[str, ...]
    logouts: tuple[str, ...]


@dataclass(frozen=True)
class _Code:
    user: LocalUser
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    expires: float


class LocalCognito:
    def __init__(self, template: Template, issuer: LocalIssuer, issuer_url: str) -> None:
        self.issuer = issuer
        self.issuer_url = issuer_url
        self.clients: dict[str, _Client] = {}
        for logical_id, raw in template.of_type("AWS::Cognito::UserPoolClient"):
            props = template.resolve(raw)
            if "code" in (props.get("AllowedOAuthFlows") or []):
                self.clients[logical_id] = _Client(
                    logical_id, tuple(props.get("CallbackURLs") or ()), tuple(props.get("LogoutURLs") or ())
                )
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_template(cls, template: Template, issuer: LocalIssuer) -> LocalCognito | None:
        pools = [logical_id for logical_id, _ in template.of_type("AWS::Cognito::UserPool")]
        if len(pools) != 1:
            return None
        return cls(
            template, issuer, template.local_address(f"https://cognito-idp.{template.region}.amazonaws.com/{pools[0]}")
        )

    # --- routing ------------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response | None:
        path = request.path.removeprefix(LOCAL_COGNITO_PATH)
        issuer_path = urllib.parse.urlsplit(self.issuer_url).path.removeprefix(LOCAL_COGNITO_PATH)
        if path == "/oauth2/authorize" and request.method == "GET":
            return self._authorize(request)
        if path == "/login" and request.method == "POST":
            return self._login(request)
        if path == "/oauth2/token" and request.method == "POST":
            return self._token(request)
        if path == "/logout" and request.method == "GET":
            return self._logout(request)
        if path == issuer_path + "/.well-known/jwks.json" and request.method == "GET":
            return _json(self.issuer.jwks(), 200)
        return None

    # --- managed login ------------------------------------------------------------------------------------------------
    def _authorize(self, request: Request) -> Response:
        args = request.args
        client = self.clients.get(args.get("client_id", ""))
        if client is None or args.get("redirect_uri") not in client.callbacks:
            return _page("Sign-in error", '<p class="govuk-body">An unknown app client or redirect address.</p>', 400)
        if (
            args.get("response_type") != "code"
            or args.get("code_challenge_method") != "S256"
            or not args.get("code_challenge")
        ):
            return _redirect_error(args["redirect_uri"], "invalid_request", args.get("state"))
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(args.get(name, ""))}">'
            for name in ("client_id", "redirect_uri", "state", "code_challenge", "nonce")
        )
        buttons = "".join(
            f'<li><button type="submit" name="username" value="{user.username}" '
            'class="govuk-button govuk-button--secondary">'
            f"Sign in as {html.escape(user.name)} ({', '.join(user.groups) or 'in no group'})</button></li>"
            for user in LOCAL_USERS
        )
        body = (
            '<p class="govuk-body">The local user pool: choose who to sign in as.</p>'
            f'<form method="post" action="{LOCAL_COGNITO_PATH}/login">{hidden}'
            f'<ul class="govuk-list">{buttons}</ul></form>'
        )
        return _page("Sign in to Family Network", body, 200)

    def _login(self, request: Request) -> Response:
        form = request.form
        client = self.clients.get(form.get("client_id", ""))
        user = next((u for u in LOCAL_USERS if u.username == form.get("username")), None)
        redirect_uri = form.get("redirect_uri", "")
        if client is None or user is None or redirect_uri not in client.callbacks:
            return _page("Sign-in error", '<p class="govuk-body">This sign-in cannot be finished.</p>', 400)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                user,
                client.client_id,
                redirect_uri,
                form.get("code_challenge", ""),
                form.get("nonce", ""),
                time.time() + CODE_SECONDS,
            )
        query = {"code": code, **({"state": form["state"]} if form.get("state") else {})}
        return _redirect(redirect_uri + "?" + urllib.parse.urlencode(query))

    def _token(self, request: Request) -> Response:
        form = request.form
        with self._lock:
            found = self._codes.pop(form.get("code", ""), None)  # a code works once
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if (
            form.get("grant_type") != "authorization_code"
            or found is None
            or found.expires < time.time()
            or found.client_id != form.get("client_id")
            or found.redirect_uri != form.get("redirect_uri")
            or not hmac.compare_digest(found.challenge.encode(), challenge.encode())
        ):
            return _json({"error": "invalid_grant"}, 400)
        now = int(time.time())
        user = found.user
        common = {"iss": self.issuer_url, "sub": f"local-{user.username}", "iat": now, "exp": now + TOKEN_SECONDS}
        id_token = self.issuer.sign(
            {
                **common,
                "aud": found.client_id,
                "token_use": "id",
                "auth_time": now,
                "nonce": found.nonce,
                "email": user.email,
                "name": user.name,
                "cognito:username": user.username,
                "cognito:groups": list(user.groups),
            }
        )
        access_token = self.issuer.sign(
            {
                **common,
                "client_id": found.client_id,
                "token_use": "access",
                "scope": "openid email profile",
                "username": user.username,
                "cognito:groups": list(user.groups),
            }
        )
        return _json(
            {"id_token": id_token, "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS},
            200,
        )

    def _logout(self, request: Request) -> Response:
        client = self.clients.get(request.args.get("client_id", ""))
        logout_uri = request.args.get("logout_uri", "")
        if client is None or logout_uri not in client.logouts:
            return _page("Sign-out error", '<p class="govuk-body">An unknown app client or sign-out address.</p>', 400)
        return _redirect(logout_uri)


def _redirect(location: str) -> Response:
    return Response("", 302, headers={"Location": location, "Cache-Control": "no-store"})


def _redirect_error(redirect_uri: str, error: str, state: str | None) -> Response:
    return _redirect(
        redirect_uri + "?" + urllib.parse.urlencode({"error": error, **({"state": state} if state else {})})
    )


def _json(body: Any, status: int) -> Response:
    import json  # noqa: PLC0415

    return Response(json.dumps(body), status, content_type="application/json", headers={"Cache-Control": "no-store"})


def _page(title: str, body: str, status: int) -> Response:
    page = (
        '<!DOCTYPE html><html lang="en" class="govuk-template"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/assets/console.css"></head>'
        '<body class="govuk-template__body"><div class="govuk-width-container">'
        f'<main class="govuk-main-wrapper" id="main-content"><h1 class="govuk-heading-l">{html.escape(title)}</h1>'
        f"{body}</main></div></body></html>"
    )
    return Response(page, status, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})
