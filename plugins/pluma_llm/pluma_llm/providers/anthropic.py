"""``anthropic``: the Messages API, translated to and from the OpenAI shapes."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import msgspec

from pluma_core.errors import PlumaError, UpstreamError

from ..sse import SSEEvent, SSEParser
from .base import (
    Chunk,
    ModelInfo,
    ProviderProfile,
    describe_error,
    get_json,
    normalise_base_url,
    redact,
    status_error,
    transport_error,
)
from .openai import _read_capped

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                 "refusal": "content_filter", "pause_turn": "stop"}
_decode = msgspec.json.decode
log = logging.getLogger("pluma.llm.anthropic")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _blocks(content: Any) -> Any:
    """OpenAI content (a string or parts) as Anthropic content blocks."""
    if not isinstance(content, list):
        return "" if content is None else str(content)
    blocks: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if url.startswith("data:") and ";base64," in url:
                media, data = url[5:].split(";base64,", 1)
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": media, "data": data}})
            elif url:
                blocks.append({"type": "image", "source": {"type": "url", "url": url}})
    return blocks


def to_messages_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI chat request -> Anthropic Messages request (system lifted, roles merged)."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for message in request.get("messages") or ():
        role = message.get("role")
        if role == "system":
            system.append(_text_of(message.get("content")))
            continue
        if role not in ("user", "assistant"):
            role = "user"  # tool results and the like: Anthropic has only two roles
        blocks = _blocks(message.get("content"))
        if messages and messages[-1]["role"] == role:
            # Anthropic wants strictly alternating roles; consecutive turns are merged.
            previous = messages[-1]["content"]
            as_list = previous if isinstance(previous, list) else [{"type": "text", "text": previous}]
            add = blocks if isinstance(blocks, list) else [{"type": "text", "text": blocks}]
            messages[-1]["content"] = as_list + add
        else:
            messages.append({"role": role, "content": blocks})
    body: dict[str, Any] = {
        "model": request.get("model") or "",
        "messages": messages,
        "max_tokens": int(request.get("max_tokens") or request.get("max_completion_tokens") or DEFAULT_MAX_TOKENS),
        "stream": True,
    }
    if system:
        body["system"] = "\n\n".join(s for s in system if s)
    for key in ("temperature", "top_p", "top_k"):
        if request.get(key) is not None:
            body[key] = request[key]
    stop = request.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    return body


class AnthropicProvider:
    """Streams ``/v1/messages`` and yields OpenAI chunks."""

    id = "anthropic"

    def __init__(self, *, profile: ProviderProfile, api_key: str | None, client: httpx.AsyncClient) -> None:
        self.profile = profile
        self.upstream = normalise_base_url(profile.base_url or DEFAULT_BASE_URL)
        self._client = client
        self._headers = {"anthropic-version": API_VERSION}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._secrets = (api_key,) if api_key else ()

    async def list_models(self) -> list[ModelInfo]:
        """``GET /v1/models``: ``id`` and ``display_name``, family ``claude``."""
        value = await get_json(self._client, f"{self.upstream}/models", self._headers, self._secrets)
        items = value.get("data") if isinstance(value, dict) else None
        if not isinstance(items, list):
            raise UpstreamError("the upstream's model list has no 'data'")
        return [
            ModelInfo(id=item["id"], display=str(item.get("display_name") or item["id"]), family="claude")
            for item in items
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        ]

    async def stream_chat(self, request: Mapping[str, Any]) -> AsyncIterator[list[Chunk]]:
        """POST ``/v1/messages`` with ``stream: true``; translate each network read as it arrives."""
        body = msgspec.json.encode(to_messages_request(request))
        headers = {**self._headers, "content-type": "application/json", "accept": "text/event-stream"}
        try:
            async with self._client.stream("POST", f"{self.upstream}/messages", content=body,
                                           headers=headers) as response:
                if response.status_code >= 400:
                    raise status_error(response.status_code, await _read_capped(response), self.upstream,
                                       self._secrets)
                yield []  # accepted: the relay may answer the client now
                translator = _Translator(str(request.get("model") or ""), self._secrets)
                parser = SSEParser()
                async for raw in response.aiter_bytes():
                    # Everything one network read completed is relayed at once, and before an
                    # error that came in the same read.
                    batch, error = translator.events(parser.feed(raw))
                    if batch:
                        yield batch
                    if error is not None:
                        raise error
                    if translator.stopped:
                        return
                batch, error = translator.events(parser.close())
                if batch:
                    yield batch
                if error is not None:
                    raise error
                if not translator.stopped:
                    if translator.malformed and not translator.valid:
                        raise UpstreamError(
                            f"the upstream sent no valid event ({translator.malformed} were not JSON objects)")
                    raise UpstreamError("the upstream closed the stream before the answer finished")
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.upstream) from exc


class _Translator:
    """Anthropic stream events -> OpenAI chunks."""

    def __init__(self, model: str, secrets: tuple[str, ...] = ()) -> None:
        self.secrets = secrets
        self.valid = 0
        self.malformed = 0
        self.id = "msg-pluma"
        self.model = model
        self.created = int(time.time())
        self.stopped = False
        self.finish: str | None = None
        self.usage: dict[str, int] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def events(self, events: list[SSEEvent]) -> tuple[list[Chunk], PlumaError | None]:
        """The chunks of some events, and the error that stopped them (later events ignored)."""
        batch: list[Chunk] = []
        for event in events:
            try:
                batch += self.event(event.event, event.data)
            except PlumaError as exc:
                return batch, exc
        return batch, None

    def _skip(self, size: int) -> list[Chunk]:
        """A data line that is not a JSON object: skipped, logged by size only."""
        self.malformed += 1
        if self.malformed == 1:
            log.warning("skipped an upstream event that is not a JSON object (%d characters)", size)
        return []

    def event(self, name: str, data: str) -> list[Chunk]:
        if self.stopped or not data.strip():
            return []
        try:
            value = _decode(data)
        except msgspec.DecodeError:
            if name == "error":
                raise UpstreamError(
                    f"the upstream reported an error mid-answer: {redact(data, self.secrets)[:300]}"
                ) from None
            return self._skip(len(data))
        kind = value.get("type", name) if isinstance(value, dict) else name
        if kind == "error" or name == "error":
            raise UpstreamError(
                f"the upstream reported an error mid-answer: {describe_error(value, self.secrets)}")
        if not isinstance(value, dict):
            return self._skip(len(data))
        self.valid += 1
        if kind == "message_start":
            message = value.get("message") or {}
            self.id = str(message.get("id") or self.id)
            self.model = str(message.get("model") or self.model)
            self.usage["prompt_tokens"] = int((message.get("usage") or {}).get("input_tokens") or 0)
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_delta":
            delta = value.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "thinking_delta":
                return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
            return []
        if kind == "message_delta":
            reason = (value.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish = _STOP_REASONS.get(reason, "stop")
            self.usage["completion_tokens"] = int((value.get("usage") or {}).get("output_tokens") or 0)
            return []
        if kind == "message_stop":
            self.stopped = True
            usage = {**self.usage, "total_tokens": sum(self.usage.values())}
            final = self._chunk({}, self.finish or "stop")
            final["usage"] = usage
            return [final]
        return []  # ping, content_block_start/stop: nothing for the client


def factory(*, profile: ProviderProfile, api_key: str | None, client: httpx.AsyncClient) -> AnthropicProvider:
    """The ``anthropic`` provider factory."""
    return AnthropicProvider(profile=profile, api_key=api_key, client=client)
