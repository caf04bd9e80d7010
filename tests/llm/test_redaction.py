"""Upstreams that echo the credentials they were sent: no key or token reaches our answers or logs.

Each upstream is a hand-written server that puts the key it received (``Authorization: Bearer``
or ``x-api-key``) into its error messages, before the stream and as an error event mid-stream.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest

from pluma_core.testing import RawHTTPServer, RawRequest, RawResponder
from pluma_core.testing.openai import answer_of, sse_events

SK_KEY = "sk-proj-Zx81LiveSecret0000"
OPAQUE_KEY = "opaque-credential-4711-qwerty"  # no well-known shape: only knowing it redacts it
HI = [{"role": "user", "content": "Hi"}]


@dataclass
class Echoing:
    """Refuses every request (401), or streams half an answer then an error event; echoes the key."""

    compat: str
    refuse: bool = True

    def sent_key(self, request: RawRequest) -> str:
        if self.compat == "anthropic":
            return f"x-api-key {request.headers.get('x-api-key', '')}"
        return request.headers.get("authorization", "")

    async def __call__(self, request: RawRequest, respond: RawResponder) -> None:
        echoed = self.sent_key(request)
        if self.refuse or request.path.endswith("/models"):
            if self.refuse:
                message = f"Incorrect API key provided: {echoed}. Check your key."
                await respond.json(401, {"error": {"message": message, "type": "invalid_request_error"}})
            else:
                await respond.json(200, {"data": [{"id": "m"}]})
            return
        await respond.head(200, {"Content-Type": "text/event-stream"})
        if self.compat == "anthropic":
            start = {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {}}}
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Half"}}
            error = {"type": "error", "error": {"type": "authentication_error",
                                                "message": f"key revoked mid-answer: {echoed}"}}
            await respond.write(f"event: message_start\ndata: {json.dumps(start)}\n\n"
                                f"event: content_block_delta\ndata: {json.dumps(delta)}\n\n")
            await respond.write(f"event: error\ndata: {json.dumps(error)}\n\n")
        else:
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": "Half"}, "finish_reason": None}]}
            await respond.write(f"data: {json.dumps(chunk)}\n\n")
            error = {"error": {"message": f"token revoked mid-answer: {echoed}", "type": "server_error"}}
            await respond.write(f"data: {json.dumps(error)}\n\n")


@pytest.mark.parametrize("key", [SK_KEY, OPAQUE_KEY])
@pytest.mark.parametrize("compat", ["openai", "anthropic"])
def test_upstream_errors_never_carry_the_key(compat: str, key: str, llm_client,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    upstream = Echoing(compat)
    with RawHTTPServer(upstream) as server:
        client = llm_client()
        profile = {"id": "p", "compat": compat, "base_url": server.base_url, "model": "m", "api_key": key}
        assert client.put("/api/connections", json=profile).status_code == 200
        answers = {
            "chat, streamed": client.post("/api/chat", json={"messages": HI, "stream": True}),
            "chat, not streamed": client.post("/api/chat", json={"messages": HI, "stream": False}),
            "models": client.get("/api/models"),
        }
        for name, response in answers.items():
            assert response.status_code == 502, name
            assert "refused the API key" in response.json()["error"], name
        health = client.get("/api/health").json()
        assert "refused the API key" in health["error"]
        tested = [client.post("/api/connections/test", json={"id": "p", "compat": compat,
                                                              "base_url": server.base_url}).json(),
                  client.post("/api/connections/test", json={"compat": compat, "base_url": server.base_url,
                                                              "api_key": key}).json()]
        assert all(t["ok"] is False and "[redacted]" in t["error"] for t in tested)

        upstream.refuse = False  # now the key fails halfway through an answer
        streamed = client.post("/api/chat", json={"messages": HI, "conversation_id": "c",
                                                  "assistant_message_id": "a"})
        events = sse_events(streamed.content)
        assert answer_of(events)[0] == "Half"
        assert "revoked mid-answer" in events[-2]["error"]["message"]
        saved = client.get("/api/conversations/c").json()["messages"][-1]
        assert saved["partial"] is True and "revoked" in saved["error"]

    assert len(server.requests) == 7  # every route above did reach the echoing server
    for text in [*(r.text for r in answers.values()), json.dumps(health), json.dumps(tested),
                 streamed.text, json.dumps(saved), caplog.text]:
        assert key not in text
        assert key[:12] not in text  # not even a truncated piece of it
