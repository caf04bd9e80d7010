"""The HTTP security chain (outermost first): trusted proxies, security headers, access log,
no-store on user content, host allowlist, CORS/CSRF. The auth gate sits between no-store and the
host allowlist and lives in ``pluma_core.auth``.

Each class is a small ``ASGIMiddleware`` that reads the live config on every request, so a
settings change applies without a restart. Rejections are sent as JSON from here (not raised),
so the layers further out still stamp their headers on them.
"""

from __future__ import annotations

import logging
import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pluma_core.security.addresses import IPNetwork, parse_ip, parse_networks
from pluma_core.security.asgi import client_host, header, header_values, send_json_error, setting_headers, state
from pluma_core.security.config import SecurityConfig
from pluma_core.security.hosts import host_allowed, normalise_origin, origin_of, split_host

if TYPE_CHECKING:
    from pluma_core.facade import Pluma

access_log = logging.getLogger("pluma.access")
log = logging.getLogger("pluma.security")

PEER_KEY = "pluma.peer"
"""``scope["state"]`` key holding the raw TCP peer before any ``X-Forwarded-For`` rewrite."""

NO_STORE_PREFIXES = ("/api/conversations", "/api/characters", "/api/personas", "/api/attachments")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
_HTTP = (ScopeType.HTTP,)
_HTTP_WS = (ScopeType.HTTP, ScopeType.WEBSOCKET)


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    valid: list[IPNetwork] = []
    for entry in entries:
        try:
            valid.extend(parse_networks([entry]))
        except ValueError:
            log.warning("trusted_proxies: ignoring %r (not an IP or CIDR)", entry)
    return tuple(valid)


def _in_networks(text: str, networks: tuple[IPNetwork, ...]) -> bool:
    address = parse_ip(text)
    if address is None:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    candidates = [address, mapped] if mapped is not None else [address]
    return any(c in net for c in candidates for net in networks if net.version == c.version)


def forwarded_client(peer: str, forwarded_for: list[str], trusted: tuple[IPNetwork, ...]) -> str:
    """The client IP by the rightmost-untrusted rule (``peer`` itself is already trusted).

    Hops are read right to left, skipping trusted ones; unparseable entries are skipped. If
    every hop is trusted, the leftmost parsed hop is used; with no parsed hop, the peer.
    """
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",")]
    parsed = [str(address) for hop in hops if (address := parse_ip(hop)) is not None]
    for hop in reversed(parsed):
        if not _in_networks(hop, trusted):
            return hop
    return parsed[0] if parsed else peer


class TrustedProxiesMiddleware(ASGIMiddleware):
    """Believe ``X-Forwarded-For``/``-Proto`` only from a TCP peer listed in ``trusted_proxies``."""

    scopes = _HTTP_WS

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        peer = client_host(scope)
        state(scope)[PEER_KEY] = peer
        trusted = _networks(tuple(self.pluma.config.get(SecurityConfig).trusted_proxies))
        if peer and trusted and _in_networks(peer, trusted):
            client = forwarded_client(peer, header_values(scope, b"x-forwarded-for"), trusted)
            port = scope["client"][1] if scope.get("client") else 0
            scope["client"] = (client, port if client == peer else 0)
            proto = header(scope, b"x-forwarded-proto")
            if proto:
                last = proto.split(",")[-1].strip().lower()
                if last in ("http", "https"):
                    is_ws = scope["type"] == "websocket"
                    scope["scheme"] = {"http": "ws", "https": "wss"}[last] if is_ws else last
        await next_app(scope, receive, send)


class SecurityHeadersMiddleware(ASGIMiddleware):
    """``nosniff``, ``Referrer-Policy``, a strict CSP, framing refused, and HSTS on HTTPS."""

    scopes = _HTTP

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        https = scope.get("scheme") == "https"

        def edit(_: Message) -> dict[bytes, bytes]:
            headers = {
                b"x-content-type-options": b"nosniff",
                b"referrer-policy": b"no-referrer",
                b"x-frame-options": b"DENY",
                b"content-security-policy": CONTENT_SECURITY_POLICY.encode(),
                b"cross-origin-opener-policy": b"same-origin",
                b"cross-origin-resource-policy": b"same-origin",
                b"permissions-policy": b"camera=(), geolocation=(), payment=(), usb=()",
            }
            if https:
                headers[b"strict-transport-security"] = HSTS.encode()
            return headers

        await next_app(scope, receive, setting_headers(send, edit))


_ID_PREFIXES = (
    "/api/conversations", "/api/characters", "/api/personas", "/api/attachments", "/api/connections",
    "/api/image/connections", "/api/image/workflows", "/api/voices", "/api/models/downloads",
    "/api/auth/credentials", "/api/auth/tokens",
)
_TEMPLATE_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def redacted_path(scope: Scope) -> str:
    """The path with ids replaced by placeholders, never the query string.

    The route template (``/api/conversations/{id}/messages/{mid}``) is used when routing found
    one; otherwise every segment after a known collection prefix becomes ``{id}``.
    """
    template = scope.get("path_template")
    if isinstance(template, str) and template:
        return _TEMPLATE_PARAM.sub(lambda m: "{" + m.group(1) + "}", template)
    path = scope.get("path", "")
    for prefix in sorted(_ID_PREFIXES, key=len, reverse=True):
        if path.startswith(prefix + "/"):
            rest = path[len(prefix) + 1 :].split("/")
            return prefix + "/" + "/".join("{id}" for _ in rest)
    return path


class AccessLogMiddleware(ASGIMiddleware):
    """With ``log_requests``: method, redacted path, status, duration and client on stderr.

    Never the query string (``?api_token=`` is a secret), bodies, cookies or headers.
    """

    scopes = _HTTP

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not self.pluma.config.get(SecurityConfig).log_requests:
            await next_app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, recording)
        finally:
            access_log.info(
                "%s %s %s %d %.1fms", client_host(scope) or "-", scope.get("method", "-"), redacted_path(scope),
                status[0], (time.perf_counter() - started) * 1000,
            )


class NoStoreMiddleware(ASGIMiddleware):
    """``Cache-Control: no-store`` on user content, error answers included."""

    scopes = _HTTP

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("path", "").startswith(NO_STORE_PREFIXES):
            send = setting_headers(send, lambda _: {b"cache-control": b"no-store"})
        await next_app(scope, receive, send)


class HostAllowlistMiddleware(ASGIMiddleware):
    """403 unless the ``Host`` name is loopback or matches ``allowed_hosts`` (DNS-rebinding guard)."""

    scopes = _HTTP_WS

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        parsed = split_host(header(scope, b"host"))
        allowed = self.pluma.config.get(SecurityConfig).allowed_hosts
        if parsed is None or not host_allowed(parsed[0], allowed):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send_json_error(send, 403, "host not allowed")
            return
        await next_app(scope, receive, send)


def _netloc(origin: str) -> str:
    return origin.split("://", 1)[-1]


class CorsMiddleware(ASGIMiddleware):
    """Same-origin by default; exact ``cors_origins`` get CORS with credentials (never ``*``).

    A state-changing request from a foreign ``Origin`` (or with ``Sec-Fetch-Site: cross-site``)
    is refused with 403, loopback included: SameSite cookies do not separate ports, so a page on
    ``http://localhost:3000`` is "same-site" with Pluma and only the Origin check stops it.
    A request with no ``Origin`` header (curl, the CLI, server-side clients) is not a CSRF.
    """

    scopes = _HTTP

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    def _configured(self) -> set[str]:
        origins = set()
        for entry in self.pluma.config.get(SecurityConfig).cors_origins:
            normal = normalise_origin(entry)
            if normal:
                origins.add(normal)
        return origins

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        method = scope.get("method", "GET")
        raw_origin = header(scope, b"origin")
        own = origin_of(scope.get("scheme", "http"), header(scope, b"host") or "")
        if raw_origin is None:
            if method not in SAFE_METHODS and header(scope, b"sec-fetch-site") == "cross-site":
                await send_json_error(send, 403, "cross-site request refused")
                return
            await next_app(scope, receive, send)
            return
        origin = normalise_origin(raw_origin)
        same = origin is not None and bool(own) and _netloc(origin) == _netloc(own)
        listed = origin is not None and origin in self._configured()
        api = scope.get("path", "").startswith("/api/")
        preflight = method == "OPTIONS" and header(scope, b"access-control-request-method") is not None
        if not (same or listed):
            if method not in SAFE_METHODS or preflight:
                await send_json_error(send, 403, "cross-origin request refused", {"vary": "Origin"})
                return
            await next_app(scope, receive, setting_headers(send, lambda _: {b"vary": b"Origin"}))
            return
        cors: dict[bytes, bytes] = {b"vary": b"Origin"}
        if listed and api and origin:
            cors |= {
                b"access-control-allow-origin": origin.encode("latin-1"),
                b"access-control-allow-credentials": b"true",
            }
        if preflight:
            cors |= {
                b"access-control-allow-methods": b"GET, POST, PUT, PATCH, DELETE, OPTIONS",
                b"access-control-allow-headers": b"Authorization, Content-Type",
                b"access-control-max-age": b"600",
                b"content-length": b"0",
            }
            await send({"type": "http.response.start", "status": 204, "headers": list(cors.items())})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await next_app(scope, receive, setting_headers(send, lambda _: cors))
