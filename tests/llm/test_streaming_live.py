"""Pluma served by uvicorn: chunks reach the client while the upstream is still answering, and a
client that goes away leaves its partial answer saved and the upstream request cancelled."""

from __future__ import annotations

import httpx

from pluma_core.testing import serve_asgi
from pluma_core.testing.openai import FakeOpenAI, read_until, sse_events


def test_chunks_are_relayed_before_the_upstream_finishes(fake_openai: FakeOpenAI, make_app) -> None:
    fake_openai.hold_after = 2  # "Hello", ",", then the upstream waits for the gate
    app = make_app(load_entrypoints=True, base_url=fake_openai.url)
    with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=30) as http:
        body = {"messages": [{"role": "user", "content": "Hi"}], "conversation_id": "live",
                "assistant_message_id": "a1"}
        with http.stream("POST", "/api/chat", json=body) as response:
            assert response.status_code == 200
            texts = response.iter_text()
            early = read_until(texts, '"content":","')
            assert fake_openai.gate.reached.is_set()
            assert "[DONE]" not in early
            # The user message is saved before the answer; the assistant's only when it ends.
            during = http.get("/api/conversations/live").json()["messages"]
            assert [m["role"] for m in during] == ["user"]
            fake_openai.gate.release()
            rest = "".join(texts)
        events = sse_events(early + rest)
        assert events[-1] == "[DONE]"
        saved = http.get("/api/conversations/live").json()["messages"]
        assert saved[-1]["content"] == "Hello, world!"


def test_client_disconnect_saves_partial_and_cancels_upstream(fake_openai: FakeOpenAI, make_app,
                                                               wait_for) -> None:
    fake_openai.hold_after = 2
    app = make_app(load_entrypoints=True, base_url=fake_openai.url)
    with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=30) as http:
        body = {"messages": [{"role": "user", "content": "Hi"}], "conversation_id": "gone",
                "assistant_message_id": "a1"}
        with http.stream("POST", "/api/chat", json=body) as response:
            read_until(response.iter_text(), '"content":","')
        # The client hung up mid-answer.

        def partial_saved() -> dict | None:
            messages = http.get("/api/conversations/gone").json()["messages"]
            return messages[-1] if messages[-1]["role"] == "assistant" else None

        saved = wait_for(partial_saved, "the partial answer to be saved")
        assert saved["content"] == "Hello,"
        assert saved["partial"] is True
        assert saved["interrupted"] == "client_disconnected"
        fake_openai.gate.release()
        wait_for(lambda: fake_openai.disconnects == 1, "the upstream request to be cancelled")
