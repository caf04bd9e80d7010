"""Small helpers shared by the raw-ASGI protocol fakes (no web framework: they must be fast)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

Scope = dict[str, Any]


async def read_body(receive: Any) -> bytes:
    """The whole request body."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def send_json(send: Any, status: int, value: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A complete JSON response."""
    payload = json.dumps(value).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


async def start_sse(send: Any) -> None:
    """Headers of an event stream."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})


def header(scope: Scope, name: str) -> str | None:
    """A request header by lower-case name."""
    wanted = name.encode()
    for key, value in scope.get("headers") or ():
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


async def lifespan(receive: Any, send: Any) -> None:
    """Acknowledge uvicorn's lifespan messages."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class Gate:
    """Holds a stream mid-answer until the test calls :meth:`release` (no sleeps, no timing)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reached = threading.Event()

    def release(self) -> None:
        """Let held streams go on."""
        self._event.set()

    async def wait(self) -> None:
        """Mark the gate reached and wait for the release, off the event loop."""
        self.reached.set()
        await asyncio.get_running_loop().run_in_executor(None, self._event.wait)


async def watch_disconnect(receive: Any, flag: asyncio.Event) -> None:
    """Set ``flag`` when the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            flag.set()
            return
