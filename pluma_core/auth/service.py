"""The auth decision for one request, shared by the gate middleware and the auth routes."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs

import msgspec
from litestar.types import Scope

from pluma_core.auth.config import AuthConfig
from pluma_core.auth.passkeys import Ceremonies, passkeys_supported, rp_id_for
from pluma_core.auth.sessions import PLAIN_COOKIE, REFRESH_AFTER, SECURE_COOKIE, Session, SessionSigner
from pluma_core.auth.store import AuthStore
from pluma_core.security.addresses import is_loopback_ip
from pluma_core.security.asgi import client_host, header, header_values
from pluma_core.security.config import SecurityConfig
from pluma_core.security.hosts import grace_group, is_loopback_name, origin_of, split_host

if TYPE_CHECKING:
    from pluma_core.facade import Pluma

AuthMethod = Literal["session", "bearer", "loopback", "grace", "disabled", "none"]
STATE_KEY = "pluma.auth"
SERVICE_KEY = "auth.service"


class AuthInfo(msgspec.Struct, kw_only=True):
    """Who a request is, as far as the gate could tell (``GET /api/auth/whoami`` returns it)."""

    method: AuthMethod
    credential_id: str | None = None
    device_name: str | None = None
    token_id: str | None = None
    rp_id: str = ""
    # Not part of whoami: facts the status route and the cookie refresh need.
    grace: bool = False
    loopback_bypass: bool = False
    refresh: Session | None = None

    @property
    def authenticated(self) -> bool:
        """True for a valid session or bearer token."""
        return self.method in ("session", "bearer")


class RequestSite(msgspec.Struct, kw_only=True):
    """The host, RP ID, origin and transport of one request."""

    host: str
    rp_id: str
    origin: str
    https: bool


def request_site(scope: Scope) -> RequestSite:
    """Host name (no port), RP ID, browser origin and HTTPS flag of the request."""
    parsed = split_host(header(scope, b"host"))
    host = parsed[0] if parsed else ""
    scheme = scope.get("scheme", "http")
    return RequestSite(
        host=host, rp_id=rp_id_for(host) if host else "", origin=origin_of(scheme, header(scope, b"host") or ""),
        https=scheme in ("https", "wss"),
    )


def _bearer(scope: Scope) -> str | None:
    auth = header(scope, b"authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    query = scope.get("query_string", b"")
    if b"api_token=" in query:
        values = parse_qs(query.decode("latin-1")).get("api_token")
        if values:
            return values[0]
    return None


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in header_values(scope, b"cookie"):
        for part in line.split(";"):
            name, _, value = part.strip().partition("=")
            if name in (SECURE_COOKIE, PLAIN_COOKIE) and name not in found:
                found[name] = value
    return found


class AuthService:
    """Credentials, tokens, sessions and ceremonies of one app; one instance per facade."""

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma
        self.store = AuthStore(pluma.db, pluma.cipher)
        self.signer = SessionSigner(pluma.data_dir)
        self.ceremonies = Ceremonies()

    def config(self) -> AuthConfig:
        """The live ``require_auth`` / ``loopback_auth_bypass`` values."""
        return self.pluma.config.get(AuthConfig)

    def grace_open(self, site: RequestSite) -> bool:
        """No passkey yet for this RP ID. An IP host can never hold a passkey, so for it grace
        lasts only while the whole install has none (else a LAN IP would stay open for ever)."""
        if not passkeys_supported(site.host):
            return self.store.count() == 0
        allowed = self._allowed_hosts()
        group = grace_group(site.host, allowed)
        if group is None:
            return self.store.count(site.rp_id) == 0
        return not any(grace_group(rp_id, allowed) == group for rp_id in self.store.rp_ids())

    def _allowed_hosts(self) -> list[str]:
        try:
            return self.pluma.config.get(SecurityConfig).allowed_hosts
        except KeyError:  # the security plugin is disabled: no patterns
            return []

    def identify(self, scope: Scope) -> AuthInfo | None:
        """The request's identity; ``None`` when a presented bearer token is invalid."""
        site = request_site(scope)
        token = _bearer(scope)
        if token is not None:
            record = self.store.token_for(token)
            if record is None:
                return None
            return AuthInfo(method="bearer", token_id=record.id, rp_id=site.rp_id)
        cookies = _cookies(scope)
        value = cookies.get(SECURE_COOKIE) if site.https else None
        value = value or cookies.get(PLAIN_COOKIE)
        if value:
            session = self.signer.verify(value, site.rp_id)
            if session is not None:
                credential = self.store.credential(session.cid)
                if credential is not None:
                    now = time.time()
                    refresh = None
                    if now - session.seen > REFRESH_AFTER:
                        refresh = Session(cid=session.cid, rp=session.rp, iat=session.iat, seen=now)
                    return AuthInfo(method="session", credential_id=credential.id,
                                    device_name=credential.device_name, rp_id=site.rp_id, refresh=refresh)
        config = self.config()
        loopback = (
            config.loopback_auth_bypass
            and is_loopback_ip(client_host(scope))
            and bool(site.host)
            and is_loopback_name(site.host)
        )
        grace = bool(site.host) and self.grace_open(site)
        if not config.require_auth:
            method: AuthMethod = "disabled"
        elif loopback:
            method = "loopback"
        elif grace:
            method = "grace"
        else:
            method = "none"
        return AuthInfo(method=method, rp_id=site.rp_id, grace=grace, loopback_bypass=loopback)


def auth_service(pluma: Pluma) -> AuthService:
    """The facade's :class:`AuthService`, created on first use (hooks do no I/O, nor does this)."""
    service = pluma.state.get(SERVICE_KEY)
    if service is None:
        service = pluma.state[SERVICE_KEY] = AuthService(pluma)
    return service
