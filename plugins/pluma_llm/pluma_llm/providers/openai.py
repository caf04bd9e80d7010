"""``openai``: any OpenAI-compatible server (llama.cpp, Ollama, LM Studio, vLLM, OpenAI...)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import msgspec

from pluma_core.errors import UpstreamError

from ..sse import SSEEvent, SSEParser
from .base import (
    Chunk,
    ModelInfo,
    ProviderProfile,
    describe_error,
    normalise_base_url,
    parse_model_list,
    status_error,
    transport_error,
)

ERROR_BODY_MAX = 64 * 1024
_decode = msgspec.json.decode


class OpenAIProvider:
    """Streams ``/v1/chat/completions`` and lists ``/v1/models``."""

    id = "openai"

    def __init__(self, *, profile: ProviderProfile, api_key: str | None, client: httpx.AsyncClient) -> None:
        self.profile = profile
        self.upstream = normalise_base_url(profile.base_url)
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def list_models(self) -> list[ModelInfo]:
        """``GET /v1/models``, parsed leniently (``data`` or ``models``; ``id`` or ``name``)."""
        try:
            response = await self._client.get(f"{self.upstream}/models", headers=self._headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.upstream) from exc
        if response.status_code >= 400:
            raise status_error(response.status_code, response.content[:ERROR_BODY_MAX], self.upstream)
        try:
            return parse_model_list(_decode(response.content))
        except msgspec.DecodeError as exc:
            raise UpstreamError(f"{self.upstream}/models did not answer JSON") from exc

    async def stream_chat(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """POST with ``stream: true`` and yield each chunk as the upstream sends it."""
        body = msgspec.json.encode({**request, "stream": True})
        headers = {**self._headers, "Content-Type": "application/json", "Accept": "text/event-stream"}
        try:
            async with self._client.stream(
                "POST", f"{self.upstream}/chat/completions", content=body, headers=headers
            ) as response:
                if response.status_code >= 400:
                    raise status_error(response.status_code, await _read_capped(response), self.upstream)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type and "json" in content_type:
                    # A server that ignores "stream": one JSON answer, turned into chunks here.
                    for chunk in completion_to_chunks(_decode(await _read_capped(response, 64 * 1024 * 1024))):
                        yield chunk
                    return
                async for chunk in self._relay(response):
                    yield chunk
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.upstream) from exc

    async def _relay(self, response: httpx.Response) -> AsyncIterator[Chunk]:
        parser = SSEParser()
        finished = False
        async for raw in response.aiter_bytes():
            for event in parser.feed(raw):
                chunk = _chunk(event)
                if chunk is None:
                    if event.data.strip() == "[DONE]":
                        return
                    continue
                if not finished:
                    finished = any(c.get("finish_reason") for c in chunk.get("choices") or ())
                yield chunk
        for event in parser.close():
            chunk = _chunk(event)
            if chunk is not None:
                finished = finished or any(c.get("finish_reason") for c in chunk.get("choices") or ())
                yield chunk
            elif event.data.strip() == "[DONE]":
                return
        if not finished:
            raise UpstreamError("the upstream closed the stream before the answer finished")


def _chunk(event: SSEEvent) -> Chunk | None:
    """The chunk an event carries; ``None`` for ``[DONE]`` and empty events; raise on errors."""
    data = event.data
    if not data.strip() or data.strip() == "[DONE]":
        return None
    try:
        value = _decode(data)
    except msgspec.DecodeError as exc:
        if event.event == "error":
            raise UpstreamError(f"the upstream reported an error mid-answer: {data[:300]}") from exc
        raise UpstreamError("the upstream sent an event that is not JSON") from exc
    if not isinstance(value, dict):
        raise UpstreamError("the upstream sent an event that is not a JSON object")
    if event.event == "error" or ("error" in value and not value.get("choices")):
        raise UpstreamError(f"the upstream reported an error mid-answer: {describe_error(value)}")
    return value


async def _read_capped(response: httpx.Response, limit: int = ERROR_BODY_MAX) -> bytes:
    data = bytearray()
    async for part in response.aiter_bytes():
        data += part
        if len(data) >= limit:
            break
    return bytes(data[:limit])


def completion_to_chunks(value: Any) -> list[Chunk]:
    """A non-streamed ``chat.completion`` as the chunks a streaming server would have sent."""
    if not isinstance(value, dict) or "error" in value:
        raise UpstreamError(f"the upstream failed: {describe_error(value)}")
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
