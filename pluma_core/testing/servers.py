"""Real HTTP servers on 127.0.0.1 for tests: uvicorn for ASGI apps, and a raw one whose
handlers write bytes exactly as they choose (split events, CRLF, early close, errors after 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_asgi(app: Any, port: int | None = None, **uvicorn_options: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread; yields ``http://127.0.0.1:<port>``."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="auto",
                            **uvicorn_options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@dataclass
class RawRequest:
    """One parsed HTTP/1.1 request."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The path without the query string."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The parsed query string."""
        return parse_qs(urlsplit(self.target).query)

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.body or b"null")


@dataclass
class RawResponder:
    """Writes the response; every call goes to the socket at once (no buffering)."""

    writer: asyncio.StreamWriter
    closed: bool = False

    async def write(self, data: bytes | str) -> None:
        """Send bytes now."""
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await self.writer.drain()

    async def head(self, status: int = 200, headers: dict[str, str] | None = None, reason: str = "OK") -> None:
        """Status line and headers (``Connection: close`` is added)."""
        lines = [f"HTTP/1.1 {status} {reason}"]
        for name, value in {**(headers or {}), "Connection": "close"}.items():
            lines.append(f"{name}: {value}")
        await self.write("\r\n".join(lines) + "\r\n\r\n")

    async def send(self, status: int, body: bytes | str, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
        """A complete response with Content-Length."""
        payload = body.encode() if isinstance(body, str) else body
        await self.head(status, {"Content-Type": content_type, "Content-Length": str(len(payload)),
                                 **(headers or {})})
        await self.write(payload)

    async def json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        """A JSON response."""
        import json

        await self.send(status, json.dumps(value), headers=headers)


Handler = Callable[[RawRequest, RawResponder], Awaitable[None]]


@dataclass
class RawHTTPServer:
    """A loopback HTTP server whose ``handler`` writes the response by hand.

    Use as a context manager; ``base_url`` is ``http://127.0.0.1:<port>``. Every request is kept
    in ``requests`` so tests can assert what Pluma sent upstream.
    """

    handler: Handler
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.base_events.Server | None = None

    @property
    def base_url(self) -> str:
        """Where the server listens."""
        return f"http://127.0.0.1:{self.port}"

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = b""
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int((await reader.readline()).strip() or b"0", 16)
                    if size == 0:
                        await reader.readline()
                        break
                    body += await reader.readexactly(size)
                    await reader.readline()
            request = RawRequest(method=method, target=target, headers=headers, body=body)
            self.requests.append(request)
            await self.handler(request, RawResponder(writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    def __enter__(self) -> RawHTTPServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve_connection, "127.0.0.1", self.port or 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:  # handlers still streaming to a client that went away
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("raw server did not start")
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
