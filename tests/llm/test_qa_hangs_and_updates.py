"""QA findings: upstreams that accept and never answer, finish_reason kept, partial profile updates.

Every upstream is a real loopback server. The limits are config keys set small here; nothing is
timed: the httpx client's own timeout only stops a test that would otherwise hang forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from pluma_core.testing import RawHTTPServer, RawRequest, RawResponder, serve_asgi

HI = [{"role": "user", "content": "Hi"}]
HANG_GUARD = 20.0  # the test client's limit: reached only when Pluma never answers (the bug)


@contextlib.contextmanager
def silent_upstream(models_hang: bool = False) -> Iterator[RawHTTPServer]:
    """Accepts every connection; never answers chats (and models, with ``models_hang``) until the test ends."""
    released = threading.Event()

    async def handler(request: RawRequest, respond: RawResponder) -> None:
        if request.path == "/v1/models" and not models_hang:
            await respond.json(200, {"data": [{"id": "q"}]})
            return
        while not released.is_set():
            await asyncio.sleep(0.01)

    with RawHTTPServer(handler) as server:
        try:
            yield server
        finally:
            released.set()


# -- 1. streamed chat: a limit on the wait for the upstream's first byte -----------------------------
@pytest.mark.parametrize("stateful", [False, True])
def test_streamed_chat_to_a_silent_upstream_is_a_504(stateful: bool, make_app) -> None:
    with silent_upstream() as upstream:
        app = make_app(load_entrypoints=True, base_url=upstream.base_url, chat_timeout=0.3)
        with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=HANG_GUARD) as http:
            body: dict = {"messages": HI, "model": "q", "stream": True}
            if stateful:
                body |= {"conversation_id": "hush", "user_message_id": "u1", "assistant_message_id": "a1"}
            response = http.post("/api/chat", json=body)
            assert response.status_code == 504
            assert response.headers["content-type"].startswith("application/json")
            assert "did not start answering within 0.3 s" in response.json()["error"]
            if stateful:
                messages = http.get("/api/conversations/hush").json()["messages"]
                assert [m["id"] for m in messages] == ["u1", "a1"]
                answer = messages[1]
                # The same as any interrupted answer: saved as far as it got (nothing).
                assert answer["content"] == "" and answer["partial"] is True
                assert answer["interrupted"] == "upstream_error"
                assert "did not start answering" in answer["error"]


# -- 2. /api/models (and the default model a chat picks) ---------------------------------------------
def test_models_from_a_silent_upstream_is_a_504(make_app) -> None:
    with silent_upstream(models_hang=True) as upstream:
        app = make_app(load_entrypoints=True, base_url=upstream.base_url, models_timeout=0.3)
        with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=HANG_GUARD) as http:
            response = http.get("/api/models")
            assert response.status_code == 504
            assert "within 0.3 s" in response.json()["error"]
            # A chat without a model asks the upstream for its list first: bounded the same way.
            chat = http.post("/api/chat", json={"messages": HI, "stream": True})
            assert chat.status_code == 504
            assert "within 0.3 s" in chat.json()["error"]


# -- 3. finish_reason in non-streamed answers ---------------------------------------------------------
def _openai_chunk(choice: dict) -> str:
    return "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "q",
                                  "choices": [choice]}) + "\n\n"


@pytest.mark.parametrize("stateful", [False, True])
def test_non_streamed_answer_keeps_the_upstream_finish_reason_openai(stateful: bool, llm_client) -> None:
    async def handler(request: RawRequest, respond: RawResponder) -> None:
        await respond.head(200, {"Content-Type": "text/event-stream"})
        # Some servers send "index": null for their only choice.
        for part in (_openai_chunk({"index": None, "delta": {"role": "assistant", "content": "Hey"}}),
                     _openai_chunk({"index": None, "delta": {}, "finish_reason": "stop"}), "data: [DONE]\n\n"):
            await respond.write(part)
            await asyncio.sleep(0.01)

    with RawHTTPServer(handler) as upstream:
        client = llm_client(base_url=upstream.base_url)
        body: dict = {"messages": HI, "model": "q", "stream": False}
        if stateful:
            body |= {"conversation_id": "fin", "assistant_message_id": "a1"}
        response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == "Hey"
    if stateful:
        saved = client.get("/api/conversations/fin").json()["messages"][-1]
        assert saved["finish_reason"] == "stop" and saved["content"] == "Hey"


def test_non_streamed_answer_keeps_the_upstream_finish_reason_anthropic(llm_client) -> None:
    async def handler(request: RawRequest, respond: RawResponder) -> None:
        await respond.head(200, {"Content-Type": "text/event-stream"})
        events = [
            ("message_start", {"type": "message_start", "message": {"id": "m1", "model": "claude-q",
                                                                    "usage": {"input_tokens": 3}}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "Cut"}}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, data in events:
            await respond.write(f"event: {name}\ndata: {json.dumps(data)}\n\n")

    with RawHTTPServer(handler) as upstream:
        client = llm_client()
        assert client.put("/api/connections", json={"compat": "anthropic", "base_url": upstream.base_url,
                                                    "model": "claude-q", "api_key": "k"}).status_code == 200
        response = client.post("/api/chat", json={"messages": HI, "stream": False})
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "Cut"


# -- 4. PUT /api/connections: omitted fields keep their stored values --------------------------------
def test_update_without_name_keeps_the_stored_fields(llm_client) -> None:
    client = llm_client()
    created = client.put("/api/connections", json={"name": "My box", "compat": "openai",
                                                   "base_url": "http://127.0.0.1:9/v1", "model": "m1"}).json()
    cid = created["id"]
    moved = client.put("/api/connections", json={"id": cid, "base_url": "http://127.0.0.1:10/v1"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["name"] == "My box" and moved.json()["model"] == "m1"
    assert moved.json()["base_url"] == "http://127.0.0.1:10/v1"
    renamed = client.put("/api/connections", json={"id": cid, "name": "Renamed"}).json()
    assert renamed["name"] == "Renamed"
    assert (renamed["base_url"], renamed["model"], renamed["compat"]) == ("http://127.0.0.1:10/v1", "m1", "openai")
    [stored] = client.get("/api/connections").json()["profiles"]
    assert (stored["name"], stored["model"], stored["base_url"]) == ("Renamed", "m1", "http://127.0.0.1:10/v1")
    # Sent fields still change, an empty name still means "the host"; a create needs base_url.
    assert client.put("/api/connections", json={"id": cid, "name": "", "model": ""}).json()["name"] == "127.0.0.1"
    assert client.put("/api/connections", json={"name": "no url"}).status_code == 400
