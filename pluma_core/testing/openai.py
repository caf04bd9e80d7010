"""A faithful loopback fake of an OpenAI-compatible server (``/v1/chat/completions``, ``/v1/models``).

Serve it with ``serve_asgi(FakeOpenAI(...))``. It speaks the wire format real servers use:
``chat.completion.chunk`` events with one ``id``/``created`` per answer, a first delta carrying the
role, reasoning before the answer (as ``reasoning_content``, ``reasoning`` or inline
``<think>`` tags), a final chunk with ``finish_reason``, an optional usage chunk, ``[DONE]``; and
OpenAI's error envelope before streaming. It records every request it got in ``requests``.

``hold_after=N`` pauses a stream after N answer chunks until ``gate.release()``, so a test can
observe what reached its client before the upstream finished, without timing anything.
``firehose=N`` streams N one-token chunks (or ``max_tokens`` of them) as fast as the socket
takes them (benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pluma_core.testing._asgi import Gate, header, lifespan, read_body, send_json, start_sse, watch_disconnect

ReasoningStyle = Literal["reasoning_content", "reasoning", "think"]


def openai_error(message: str, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass
class FakeOpenAI:
    """An OpenAI-compatible upstream. Every attribute may be changed between requests."""

    models: list[str] = field(default_factory=lambda: ["fake-model"])
    reply: list[str] = field(default_factory=lambda: ["Hello", ",", " wor", "ld", "!"])
    reasoning: list[str] = field(default_factory=list)
    reasoning_style: ReasoningStyle = "reasoning_content"
    api_key: str | None = None
    hold_after: int | None = None
    firehose: int = 0
    firehose_token: str = "x"
    models_key: Literal["data", "models"] = "data"
    requests: list[dict[str, Any]] = field(default_factory=list)
    gate: Gate = field(default_factory=Gate)
    disconnects: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        path = scope["path"]
        body = await read_body(receive)
        record = {"method": scope["method"], "path": path, "authorization": header(scope, "authorization"),
                  "json": json.loads(body) if body else None}
        self.requests.append(record)
        if self.api_key is not None and record["authorization"] != f"Bearer {self.api_key}":
            await send_json(send, 401, openai_error("Incorrect API key provided.", "invalid_request_error",
                                                    "invalid_api_key"))
            return
        if scope["method"] == "GET" and path == "/v1/models":
            await send_json(send, 200, self._model_list())
        elif scope["method"] == "POST" and path == "/v1/chat/completions":
            await self._chat(record["json"], receive, send)
        else:
            await send_json(send, 404, openai_error(f"Unknown request URL: {scope['method']} {path}.", code=None))

    def _model_list(self) -> dict[str, Any]:
        if self.models_key == "models":
            return {"models": [{"name": m, "model": m} for m in self.models]}
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 1700000000,
                                            "owned_by": "fake"} for m in self.models]}

    async def _chat(self, body: Any, receive: Any, send: Any) -> None:
        if not isinstance(body, dict) or not body.get("messages"):
            await send_json(send, 400, openai_error("'messages' is a required property", param="messages"))
            return
        model = body.get("model")
        if not model:
            await send_json(send, 400, openai_error("you must provide a model parameter", param="model"))
            return
        if model not in self.models:
            await send_json(send, 404, openai_error(f"The model `{model}` does not exist.", code="model_not_found"))
            return
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model, "system_fingerprint": "fp_fake"}
        if not body.get("stream"):
            await send_json(send, 200, self._completion(base))
            return
        gone = asyncio.Event()
        watcher = asyncio.create_task(watch_disconnect(receive, gone))
        try:
            await start_sse(send)
            await self._stream(base, body, send, gone)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if gone.is_set():
                self.disconnects += 1

    def _completion(self, base: dict[str, Any]) -> dict[str, Any]:
        content = "".join(self.reply)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if self.reasoning:
            thought = "".join(self.reasoning)
            if self.reasoning_style == "think":
                message["content"] = f"<think>{thought}</think>{content}"
            else:
                message[self.reasoning_style] = thought
        return {**base, "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": len(self.reply),
                          "total_tokens": 5 + len(self.reply)}}

    async def _stream(self, base: dict[str, Any], body: dict[str, Any], send: Any, gone: asyncio.Event) -> None:
        async def emit(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                     **extra}
            await send({"type": "http.response.body", "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                        "more_body": True})

        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        await emit({"role": "assistant", "content": ""})
        if self.firehose:
            count = int(body.get("max_tokens") or self.firehose)
            for _ in range(count):
                await emit({"content": self.firehose_token})
        else:
            pieces: list[dict[str, Any]] = []
            if self.reasoning and self.reasoning_style == "think":
                pieces.append({"content": "<think>"})
                pieces += [{"content": r} for r in self.reasoning]
                pieces.append({"content": "</think>"})
            else:
                pieces += [{self.reasoning_style: r, "content": None} for r in self.reasoning]
            pieces += [{"content": t} for t in self.reply]
            for index, delta in enumerate(pieces):
                if self.hold_after is not None and index == self.hold_after:
                    await self.gate.wait()
                    if gone.is_set():
                        return
                await emit(delta)
        await emit({}, "stop")
        if usage:
            chunk = {**base, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(self.reply),
                                                      "total_tokens": 5 + len(self.reply)}}
            await send({"type": "http.response.body", "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


def sse_events(raw: bytes | str) -> list[Any]:
    """The ``data:`` payloads of an SSE body (as a client sees them), JSON-decoded except ``[DONE]``."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    events: list[Any] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip() for line in block.split("\n") if line.startswith("data:"))
        if data:
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def answer_of(events: list[Any]) -> tuple[str, str]:
    """(content, reasoning_content) joined from chunk events."""
    content, reasoning = [], []
    for event in events:
        if not isinstance(event, dict):
            continue
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning_content") or "")
    return "".join(content), "".join(reasoning)


def read_until(texts: Iterator[str], wanted: str) -> str:
    """Read a live text stream until ``wanted`` has arrived; the stream stays open."""
    seen = ""
    for text in texts:
        seen += text
        if wanted in seen:
            return seen
    raise AssertionError(f"stream ended before {wanted!r}: {seen!r}")
