"""A faithful loopback fake of Anthropic's Messages API (``/v1/messages``, ``/v1/models``).

Serve it with ``serve_asgi(FakeAnthropic(...))``. It checks what the real API checks (the
``x-api-key`` and ``anthropic-version`` headers, ``max_tokens``, only ``user``/``assistant`` roles
with the system prompt at the top level, alternating turns) and streams the real event
sequence: ``message_start``, ``content_block_start``, ``ping``, ``content_block_delta``...,
``content_block_stop``, ``message_delta``, ``message_stop``. ``error_after=N`` sends an
``error`` event (``overloaded_error``) after N text deltas, as the API does under load.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pluma_core.testing._asgi import Gate, header, lifespan, read_body, send_json, start_sse


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    """Anthropic's error envelope."""
    return {"type": "error", "error": {"type": kind, "message": message}}


@dataclass
class FakeAnthropic:
    """An Anthropic Messages API upstream."""

    models: list[str] = field(default_factory=lambda: ["claude-fake-1"])
    reply: list[str] = field(default_factory=lambda: ["Hi", " from", " Claude"])
    thinking: list[str] = field(default_factory=list)
    api_key: str | None = "sk-ant-test"
    error_after: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    gate: Gate = field(default_factory=Gate)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = await read_body(receive)
        record = {"method": scope["method"], "path": scope["path"], "x-api-key": header(scope, "x-api-key"),
                  "anthropic-version": header(scope, "anthropic-version"),
                  "json": json.loads(body) if body else None}
        self.requests.append(record)
        if self.api_key is not None and record["x-api-key"] != self.api_key:
            await send_json(send, 401, anthropic_error("authentication_error", "invalid x-api-key"))
            return
        if not record["anthropic-version"]:
            await send_json(send, 400, anthropic_error("invalid_request_error",
                                                       "anthropic-version: header is required"))
            return
        if scope["method"] == "GET" and scope["path"] == "/v1/models":
            data = [{"type": "model", "id": m, "display_name": m.replace("-", " ").title(),
                     "created_at": "2025-01-01T00:00:00Z"} for m in self.models]
            await send_json(send, 200, {"data": data, "has_more": False,
                                        "first_id": data[0]["id"] if data else None,
                                        "last_id": data[-1]["id"] if data else None})
        elif scope["method"] == "POST" and scope["path"] == "/v1/messages":
            await self._messages(record["json"], send)
        else:
            await send_json(send, 404, anthropic_error("not_found_error", "Not found"))

    def _invalid(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body: must be an object"
        if "max_tokens" not in body:
            return "max_tokens: Field required"
        if body.get("model") not in self.models:
            return f"model: {body.get('model')}"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        previous = None
        for index, message in enumerate(messages):
            role = message.get("role")
            if role not in ("user", "assistant"):
                return f'messages.{index}.role: Input should be "user" or "assistant"'
            if role == previous:
                return "messages: roles must alternate between \"user\" and \"assistant\""
            previous = role
        return None

    async def _messages(self, body: Any, send: Any) -> None:
        problem = self._invalid(body)
        if problem:
            status = 404 if problem.startswith("model:") else 400
            kind = "not_found_error" if status == 404 else "invalid_request_error"
            await send_json(send, status, anthropic_error(kind, problem))
            return
        mid = f"msg_{uuid.uuid4().hex[:24]}"
        if not body.get("stream"):
            content: list[dict[str, Any]] = []
            if self.thinking:
                content.append({"type": "thinking", "thinking": "".join(self.thinking), "signature": "sig"})
            content.append({"type": "text", "text": "".join(self.reply)})
            await send_json(send, 200, {"id": mid, "type": "message", "role": "assistant", "model": body["model"],
                                        "content": content, "stop_reason": "end_turn", "stop_sequence": None,
                                        "usage": {"input_tokens": 10, "output_tokens": len(self.reply)}})
            return

        async def event(name: str, data: dict[str, Any]) -> None:
            payload = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            await send({"type": "http.response.body", "body": payload, "more_body": True})

        await start_sse(send)
        await event("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}})
        index = 0
        if self.thinking:
            await event("content_block_start", {"type": "content_block_start", "index": index,
                                                "content_block": {"type": "thinking", "thinking": ""}})
            for piece in self.thinking:
                await event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                    "delta": {"type": "thinking_delta", "thinking": piece}})
            await event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": {"type": "signature_delta", "signature": "sig"}})
            await event("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        await event("content_block_start", {"type": "content_block_start", "index": index,
                                            "content_block": {"type": "text", "text": ""}})
        await event("ping", {"type": "ping"})
        for count, piece in enumerate(self.reply):
            if self.error_after is not None and count == self.error_after:
                await event("error", anthropic_error("overloaded_error", "Overloaded"))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": {"type": "text_delta", "text": piece}})
        await event("content_block_stop", {"type": "content_block_stop", "index": index})
        await event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                          "stop_sequence": None},
                                      "usage": {"output_tokens": len(self.reply)}})
        await event("message_stop", {"type": "message_stop"})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
