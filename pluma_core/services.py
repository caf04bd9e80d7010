"""Interfaces of the core services that plugins share (so no plugin imports another).

Implementations are published on the facade: ``pluma.services.get(PROMPT_BUILDER)`` and
``pluma.url_fetcher``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

PROMPT_BUILDER = "prompt_builder"
"""Service name of the :class:`PromptBuilder` (provided by the core characters/personas plugins)."""


class PromptBuilder(Protocol):
    """Turns a chat request's messages into the messages sent upstream for a character chat."""

    def build(
        self,
        messages: list[dict[str, Any]],
        *,
        character_id: str | None = None,
        persona_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """System blocks from the card and persona, then ``messages``, with macros filled in.

        Raises ``NotFound`` for an unknown character or persona id. Order: ``docs/prompt.md``.
        """


class FetchResult(msgspec.Struct, kw_only=True):
    """A response fetched through the SSRF guard, body fully read and capped."""

    url: str
    status: int
    headers: dict[str, str]
    content: bytes


class UrlFetcher(Protocol):
    """Fetches user-supplied URLs: http(s) only, public addresses only, capped size and time."""

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        timeout: float = 60.0,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url`` following at most 5 redirects, every hop re-checked.

        Raises ``BadRequest`` ("refusing to fetch private or local address") for a refused
        address or scheme, ``PayloadTooLarge`` past ``max_bytes``, ``UpstreamTimeout`` and
        ``UpstreamError`` for network failures.
        """
