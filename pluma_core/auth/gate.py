"""The auth gate middleware for ``/api/*``: session cookie, bearer token, or a documented escape."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pluma_core.auth.service import STATE_KEY, auth_service, request_site
from pluma_core.auth.sessions import set_cookie_header
from pluma_core.security.asgi import send_json_error, state

if TYPE_CHECKING:
    from pluma_core.facade import Pluma

PUBLIC_PATHS = frozenset({"/api/auth/status", "/api/auth/login/begin", "/api/auth/login/finish"})
"""Reachable without a session, or nobody could sign in once grace closes."""


class AuthGateMiddleware(ASGIMiddleware):
    """401 JSON unless the request has a session, a token, or passes a bypass.

    Bypasses: ``require_auth = false``; ``loopback_auth_bypass`` when both peer and Host are
    loopback; per-RP-ID grace while no passkey is enrolled. A presented but unknown bearer token
    is refused even where a bypass would apply, so a revoked token fails loudly. Preflight
    ``OPTIONS`` passes through to the CORS layer, which answers it without running a handler.
    """

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope.get("path", "")
        if not path.startswith("/api/") or scope.get("method") == "OPTIONS":
            await next_app(scope, receive, send)
            return
        service = auth_service(self.pluma)
        info = service.identify(scope)
        if info is None or (info.method == "none" and path not in PUBLIC_PATHS):
            message = "invalid or revoked token" if info is None else "authentication required"
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401})
                return
            await send_json_error(send, 401, message)
            return
        state(scope)[STATE_KEY] = info
        if info.refresh is not None:
            cookie = set_cookie_header(service.signer.sign(info.refresh), request_site(scope).https).encode("latin-1")
            inner_send = send

            async def refreshing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    # A handler that set the cookie itself (login, logout) wins.
                    if not any(k.lower() == b"set-cookie" for k, _ in headers):
                        message = {**message, "headers": [*headers, (b"set-cookie", cookie)]}  # type: ignore[typeddict-item]
                await inner_send(message)

            send = refreshing
        await next_app(scope, receive, send)
