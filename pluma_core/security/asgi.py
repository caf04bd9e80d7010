"""Small raw-ASGI helpers: header access, scope state, and JSON answers sent by middleware.

Middleware answers with :func:`send_json_error` instead of raising, so every layer further out
still sees the answer through its ``send`` wrapper (no-store, security headers, the access log).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from litestar.types import Message, Scope, Send

ScopeState = dict[str, Any]


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of request header ``name`` (lower-case bytes), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of request header ``name``, in order."""
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def state(scope: Scope) -> ScopeState:
    """The per-request state dict (Litestar's ``request.state``)."""
    return scope.setdefault("state", {})  # type: ignore[typeddict-item,return-value]


def client_host(scope: Scope) -> str | None:
    """The client address the chain believes (after the trusted-proxies rewrite)."""
    client = scope.get("client")
    return client[0] if client else None


async def send_json_error(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """Answer ``{"error": message}`` with ``status`` from inside a middleware."""
    body = json.dumps({"error": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


HeaderEdit = Callable[[Message], dict[bytes, bytes]]


def setting_headers(send: Send, edit: HeaderEdit) -> Send:
    """Wrap ``send`` so the headers ``edit(start_message)`` returns replace any of the same name."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            changes = edit(message)
            if changes:
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in changes]
                message = {**message, "headers": [*kept, *changes.items()]}  # type: ignore[typeddict-item]
        await send(message)

    return wrapped
