"""``openai``: any OpenAI-compatible server (llama.cpp, Ollama, LM Studio, vLLM, OpenAI...)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import msgspec

from pluma_core.errors import PlumaError, UpstreamError

from ..sse import SSEEvent, SSEParser
from .base import (
    ERROR_BODY_MAX,
    Chunk,
    ModelInfo,
    ProviderProfile,
    describe_error,
    get_json,
    normalise_base_url,
    parse_model_list,
    redact,
    status_error,
    transport_error,
)

DRAIN_WAIT = 0.2
_decode = msgspec.json.decode
log = logging.getLogger("pluma.llm.openai")


class OpenAIProvider:
    """Streams ``/v1/chat/completions`` and lists ``/v1/models``."""

    id = "openai"

    def __init__(self, *, profile: ProviderProfile, api_key: str | None, client: httpx.AsyncClient) -> None:
        self.profile = profile
        self.upstream = normalise_base_url(profile.base_url)
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._secrets = (api_key,) if api_key else ()

    async def list_models(self) -> list[ModelInfo]:
        """``GET /v1/models``, parsed leniently (``data`` or ``models``; ``id`` or ``name``)."""
        value = await get_json(self._client, f"{self.upstream}/models", self._headers, self._secrets)
        return parse_model_list(value)

    async def stream_chat(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk | list[Chunk]]:
        """POST with ``stream: true`` and yield the chunks of each network read as it arrives."""
        body = msgspec.json.encode({**request, "stream": True})
        headers = {**self._headers, "Content-Type": "application/json", "Accept": "text/event-stream"}
        try:
            async with self._client.stream(
                "POST", f"{self.upstream}/chat/completions", content=body, headers=headers
            ) as response:
                if response.status_code >= 400:
                    raise status_error(response.status_code, await _read_capped(response), self.upstream,
                                       self._secrets)
                # Accepted: an empty batch lets the relay answer the client while the model thinks.
                yield []
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type and "json" in content_type:
                    # A server that ignores "stream": one JSON answer, turned into chunks here.
                    answer = _decode(await _read_capped(response, 64 * 1024 * 1024))
                    for chunk in completion_to_chunks(answer, self._secrets):
                        yield chunk
                    return
                async for chunk in self._relay(response):
                    yield chunk
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.upstream) from exc

    async def _relay(self, response: httpx.Response) -> AsyncIterator[Chunk | list[Chunk]]:
        """One item per network read: a chunk, or the list of chunks that arrived together.

        What a read completed before an error event is yielded before the error is raised, so
        the partial answer does not depend on how the upstream's bytes were split into reads.
        """
        parser = SSEParser()
        events = _Events(self._secrets)
        reads = response.aiter_bytes()
        async for raw in reads:
            batch, done, error = events.take(parser.feed(raw))
            if batch:
                yield batch[0] if len(batch) == 1 else batch
            if error is not None:
                raise error
            if done:
                await _drain(reads)
                events.check_end(done=True)
                return
        batch, done, error = events.take(parser.close())
        if batch:
            yield batch
        if error is not None:
            raise error
        events.check_end(done)


async def _drain(reads: AsyncIterator[bytes]) -> None:
    """Read the body's end after ``[DONE]`` so the pooled connection can be reused.

    The end is normally in the same read; a server that keeps the stream open is not waited for.
    """
    with anyio.move_on_after(DRAIN_WAIT):
        async for _ in reads:
            pass


@dataclass(slots=True)
class _Events:
    """SSE events -> chunks for one answer: error events, ``[DONE]``, and lines that are not JSON.

    A data line that is not a JSON object is skipped (logged by size, never by content) rather
    than ending the answer; only a stream in which nothing valid ever arrived is an error.
    """

    secrets: tuple[str, ...]
    valid: int = 0
    malformed: int = 0
    finished: bool = False

    def take(self, events: list[SSEEvent]) -> tuple[list[Chunk], bool, PlumaError | None]:
        """The chunks of some events, whether ``[DONE]`` came, and the error that stopped them.

        Events after ``[DONE]`` or after an error are ignored.
        """
        batch: list[Chunk] = []
        for event in events:
            data = event.data.strip()
            if data == "[DONE]":
                return batch, True, None
            if not data:
                continue
            try:
                chunk = self._chunk(event)
            except PlumaError as exc:
                return batch, False, exc
            if chunk is not None:
                self.valid += 1
                self.finished = self.finished or any(c.get("finish_reason") for c in chunk.get("choices") or ())
                batch.append(chunk)
        return batch, False, None

    def _chunk(self, event: SSEEvent) -> Chunk | None:
        """The chunk an event carries; ``None`` for a malformed one; raise on errors."""
        data = event.data
        try:
            value = _decode(data)
        except msgspec.DecodeError:
            if event.event == "error":
                raise UpstreamError(
                    f"the upstream reported an error mid-answer: {redact(data, self.secrets)[:300]}"
                ) from None
            return self._skip(len(data))
        if event.event == "error" or (isinstance(value, dict) and "error" in value and not value.get("choices")):
            raise UpstreamError(f"the upstream reported an error mid-answer: {describe_error(value, self.secrets)}")
        if not isinstance(value, dict):
            return self._skip(len(data))
        return value

    def _skip(self, size: int) -> None:
        self.malformed += 1
        if self.malformed == 1:
            log.warning("skipped an upstream event that is not a JSON object (%d characters)", size)
        return None

    def check_end(self, done: bool) -> None:
        """At the end of the stream: raise unless the answer finished or ``[DONE]`` came."""
        if self.malformed and not self.valid:
            raise UpstreamError(f"the upstream sent no valid event ({self.malformed} were not JSON objects)")
        if not (self.finished or done):
            raise UpstreamError("the upstream closed the stream before the answer finished")


async def _read_capped(response: httpx.Response, limit: int = ERROR_BODY_MAX) -> bytes:
    data = bytearray()
    async for part in response.aiter_bytes():
        data += part
        if len(data) >= limit:
            break
    return bytes(data[:limit])


def completion_to_chunks(value: Any, secrets: tuple[str, ...] = ()) -> list[Chunk]:
    """A non-streamed ``chat.completion`` as the chunks a streaming server would have sent."""
    if not isinstance(value, dict) or "error" in value:
        raise UpstreamError(f"the upstream failed: {describe_error(value, secrets)}")
    base = {
        "id": value.get("id") or "chatcmpl-pluma",
        "object": "chat.completion.chunk",
        "created": value.get("created") or int(time.time()),
        "model": value.get("model") or "",
    }
    chunks: list[Chunk] = []
    for choice in value.get("choices") or ():
        message = dict(choice.get("message") or {})
        delta = {k: v for k, v in message.items() if v is not None}
        index = choice.get("index", 0)
        chunks.append({**base, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
        chunks.append({**base, "choices": [{"index": index, "delta": {},
                                            "finish_reason": choice.get("finish_reason") or "stop"}]})
    if value.get("usage"):
        chunks.append({**base, "choices": [], "usage": value["usage"]})
    return chunks


def factory(*, profile: ProviderProfile, api_key: str | None, client: httpx.AsyncClient) -> OpenAIProvider:
    """The ``openai`` provider factory."""
    return OpenAIProvider(profile=profile, api_key=api_key, client=client)
