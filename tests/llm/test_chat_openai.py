"""Chat through the OpenAI provider against a loopback OpenAI-compatible server."""

from __future__ import annotations

import pytest

from pluma_core.testing.openai import FakeOpenAI, answer_of, sse_events

HI = [{"role": "user", "content": "Hi"}]


def test_stateless_non_streaming_is_one_completion(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    response = client.post("/api/chat", json={"messages": HI, "stream": False, "temperature": 0.2,
                                              "max_tokens": 9, "presence_penalty": 0.5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello, world!"}
    assert body["choices"][0]["finish_reason"] == "stop"
    sent = fake_openai.requests[-1]["json"]
    # The model defaults to the first one listed; sampling keys pass through; stream is ours.
    assert sent["model"] == "fake-model"
    assert sent["stream"] is True
    assert (sent["temperature"], sent["max_tokens"], sent["presence_penalty"]) == (0.2, 9, 0.5)
    assert client.get("/api/conversations").json() == []


def test_stateless_streaming_relays_sse(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    response = client.post("/api/chat", json={"messages": HI, "stream": True, "model": "fake-model"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-accel-buffering"] == "no"
    events = sse_events(response.content)
    assert events[-1] == "[DONE]"
    assert events[0]["object"] == "chat.completion.chunk"
    assert answer_of(events) == ("Hello, world!", "")
    assert len([e for e in events if isinstance(e, dict)]) == 7  # role, 5 tokens, finish


def test_stateful_saves_both_messages(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    body = {"messages": HI, "conversation_id": "c1", "user_message_id": "u1", "assistant_message_id": "a1"}
    response = client.post("/api/chat", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")  # the default when stateful
    assert sse_events(response.content)[-1] == "[DONE]"
    for key in ("conversation_id", "user_message_id", "assistant_message_id"):
        assert key not in fake_openai.requests[-1]["json"]
    saved = client.get("/api/conversations/c1").json()
    assert [(m["id"], m["role"], m["content"]) for m in saved["messages"]] == [
        ("u1", "user", "Hi"), ("a1", "assistant", "Hello, world!")]
    assert saved["messages"][1]["model"] == "fake-model"
    assert "partial" not in saved["messages"][1]
    # Regenerating with the same assistant id replaces the answer in place.
    fake_openai.reply = ["Again"]
    client.post("/api/chat", json=body)
    saved = client.get("/api/conversations/c1").json()
    assert [m["content"] for m in saved["messages"]] == ["Hi", "Again"]


def test_stateful_without_ids_generates_and_reports_them(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    response = client.post("/api/chat", json={"messages": HI, "conversation_id": "c2", "stream": False})
    assert response.status_code == 200
    generated = response.headers["x-pluma-assistant-message-id"]
    messages = client.get("/api/conversations/c2").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["id"] == generated


@pytest.mark.parametrize("style", ["reasoning_content", "reasoning", "think"])
def test_reasoning_is_separate_saved_apart_and_never_replayed(style: str, fake_openai: FakeOpenAI,
                                                              llm_client) -> None:
    fake_openai.reasoning = ["Let me ", "think."]
    fake_openai.reasoning_style = style  # type: ignore[assignment]
    client = llm_client(base_url=fake_openai.url)
    response = client.post("/api/chat", json={"messages": HI, "conversation_id": "r1", "assistant_message_id": "a1"})
    events = sse_events(response.content)
    assert answer_of(events) == ("Hello, world!", "Let me think.")
    for event in events:
        for choice in event.get("choices", []) if isinstance(event, dict) else []:
            assert "reasoning" not in choice["delta"]
    saved = client.get("/api/conversations/r1").json()["messages"][1]
    assert saved["content"] == "Hello, world!"
    assert saved["reasoning"] == "Let me think."
    # The next turn replays the history as the client holds it, thoughts included: none go upstream.
    history = [*HI, {"role": "assistant", "content": "<think>Let me think.</think>Hello, world!",
                     "reasoning_content": "Let me think.", "reasoning": "Let me think."},
               {"role": "user", "content": "More"}]
    stateless = client.post("/api/chat", json={"messages": history, "stream": False}).json()
    assert stateless["choices"][0]["message"]["reasoning_content"] == "Let me think."
    replayed = fake_openai.requests[-1]["json"]["messages"][1]
    assert replayed == {"role": "assistant", "content": "Hello, world!"}


def test_models_list_under_data_or_models(fake_openai: FakeOpenAI, llm_client) -> None:
    fake_openai.models = ["m-one", "m-two"]
    client = llm_client(base_url=fake_openai.url)
    assert [m["id"] for m in client.get("/api/models").json()["models"]] == ["m-one", "m-two"]
    fake_openai.models_key = "models"  # Ollama style: {"models": [{"name": ...}]}
    assert [m["id"] for m in client.get("/api/models").json()["models"]] == ["m-one", "m-two"]


def test_upstream_errors_before_stream_map_to_clear_statuses(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    unknown = client.post("/api/chat", json={"messages": HI, "model": "nope", "stream": True})
    assert unknown.status_code == 400
    assert "does not exist" in unknown.json()["error"]
    fake_openai.api_key = "right"
    refused = client.post("/api/chat", json={"messages": HI, "model": "fake-model", "stream": True})
    assert refused.status_code == 502
    assert "API key" in refused.json()["error"]


def test_no_connection_is_503_and_health_says_so(llm_client) -> None:
    client = llm_client()
    response = client.post("/api/chat", json={"messages": HI, "stream": False})
    assert response.status_code == 503
    assert "connection" in response.json()["error"]
    assert client.get("/api/models").status_code == 503
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["connection"]["source"] == "none"
    assert health.json()["reachable"] is False


def test_health_reports_reachability(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    health = client.get("/api/health").json()
    assert health["reachable"] is True and health["ok"] is True
    assert health["upstream"] == f"{fake_openai.url}/v1"
    assert health["connection"]["source"] == "fallback"


def test_unreachable_upstream(llm_client) -> None:
    from pluma_core.testing import free_port

    client = llm_client(base_url=f"http://127.0.0.1:{free_port()}")
    response = client.post("/api/chat", json={"messages": HI, "model": "m", "stream": True})
    assert response.status_code == 502
    assert "cannot reach" in response.json()["error"]
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["reachable"] is False
    assert "cannot reach" in health.json()["error"]


@pytest.mark.parametrize("body", [
    {"messages": HI, "conversation_id": "../etc"},
    {"messages": HI, "conversation_id": "c", "assistant_message_id": "a/b"},
    {"messages": [{"role": "wizard", "content": "x"}]},
    {"model": "m"},
    [1, 2],
])
def test_bad_requests_are_400(body: object, fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    response = client.post("/api/chat", json=body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert fake_openai.requests == []


def test_chat_body_is_capped(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    huge = "x" * (33 * 1024 * 1024)
    response = client.post("/api/chat", json={"messages": [{"role": "user", "content": huge}]})
    assert response.status_code == 413
    assert fake_openai.requests == []


def test_one_pooled_client_per_profile_closed_at_shutdown(fake_openai: FakeOpenAI, make_app) -> None:
    from litestar.testing import TestClient

    app = make_app(load_entrypoints=True)
    pluma = app.state["pluma"]
    with TestClient(app, base_url="http://localhost") as client:
        client.put("/api/connections", json={"id": "p1", "base_url": fake_openai.url})
        for _ in range(2):
            assert client.post("/api/chat", json={"messages": HI, "stream": True}).status_code == 200
        clients = [c for key, (_, c) in pluma.http._clients.items() if key == "connection:p1"]
        assert len(clients) == 1 and not clients[0].is_closed
    assert clients[0].is_closed
