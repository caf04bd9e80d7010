"""One pooled ``httpx.AsyncClient`` per upstream profile, closed at shutdown.

These plain clients are for upstreams the user configured (their own LLM, image and TTS servers,
usually on localhost). URLs a user pastes for content import go through the SSRF-guarded client
in ``pluma_core.security.ssrf`` instead.
"""

from __future__ import annotations

import httpx

from pluma_core import __version__

USER_AGENT = f"Pluma/{__version__}"


class HttpClients:
    """Keeps one client per key (e.g. ``"connection:<id>"``) so connections are reused."""

    def __init__(self) -> None:
        self._clients: dict[str, tuple[tuple[object, ...], httpx.AsyncClient]] = {}
        # Replaced clients may still be streaming an answer; they are closed at shutdown.
        self._retired: list[httpx.AsyncClient] = []

    def client(
        self,
        key: str,
        *,
        base_url: str = "",
        timeout: float | httpx.Timeout = 60.0,
        headers: dict[str, str] | None = None,
    ) -> httpx.AsyncClient:
        """The pooled client for ``key``; a changed base URL, timeout or headers replaces it."""
        fingerprint = (base_url, str(timeout), tuple(sorted((headers or {}).items())))
        existing = self._clients.get(key)
        if existing and existing[0] == fingerprint and not existing[1].is_closed:
            return existing[1]
        client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            trust_env=False,
        )
        if existing:
            self._retired.append(existing[1])
        self._clients[key] = (fingerprint, client)
        return client

    async def discard(self, key: str) -> None:
        """Close and forget the client for ``key`` (its profile was deleted or changed)."""
        existing = self._clients.pop(key, None)
        if existing:
            await existing[1].aclose()

    async def aclose(self) -> None:
        """Close every client (shutdown)."""
        clients = [c for _, c in self._clients.values()] + self._retired
        self._clients.clear()
        self._retired = []
        for client in clients:
            await client.aclose()
