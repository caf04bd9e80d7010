"""The Anthropic provider against a loopback Messages API."""

from __future__ import annotations

from pluma_core.testing.anthropic import FakeAnthropic
from pluma_core.testing.openai import answer_of, sse_events

KEY = "sk-ant-test"


def _client(llm_client, fake: FakeAnthropic, key: str | None = KEY):
    client = llm_client()
    body = {"id": "claude", "compat": "anthropic", "base_url": fake.url, "model": "claude-fake-1"}
    if key:
        body["api_key"] = key
    assert client.put("/api/connections", json=body).status_code == 200
    return client


def test_streaming_translation_and_request_shape(fake_anthropic: FakeAnthropic, llm_client) -> None:
    fake_anthropic.thinking = ["Pondering", "..."]
    client = _client(llm_client, fake_anthropic)
    history = [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "Be kind."},
               {"role": "user", "content": "Hi"}, {"role": "user", "content": [{"type": "text", "text": "again"}]},
               {"role": "assistant", "content": "<think>old</think>Hello"}, {"role": "user", "content": "Bye"}]
    response = client.post("/api/chat", json={"messages": history, "stream": True, "temperature": 0.3,
                                              "stop": "END"})
    assert response.status_code == 200, response.text
    events = sse_events(response.content)
    assert events[-1] == "[DONE]"
    assert answer_of(events) == ("Hi from Claude", "Pondering...")
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    sent = fake_anthropic.requests[-1]
    assert sent["x-api-key"] == KEY and sent["anthropic-version"] == "2023-06-01"
    body = sent["json"]
    assert body["system"] == "Be brief.\n\nBe kind."
    assert body["max_tokens"] == 4096 and body["stream"] is True
    assert body["temperature"] == 0.3 and body["stop_sequences"] == ["END"]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "Hi"}, {"type": "text", "text": "again"}]
    assert body["messages"][1]["content"] == "Hello"


def test_non_streaming_and_models(fake_anthropic: FakeAnthropic, llm_client) -> None:
    client = _client(llm_client, fake_anthropic)
    answer = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}], "stream": False,
                                            "max_tokens": 50}).json()
    assert answer["choices"][0]["message"]["content"] == "Hi from Claude"
    assert answer["usage"]["completion_tokens"] == 3
    assert fake_anthropic.requests[-1]["json"]["max_tokens"] == 50
    models = client.get("/api/models").json()["models"]
    assert models == [{"id": "claude-fake-1", "display": "Claude Fake 1", "family": "claude"}]


def test_error_event_mid_stream_keeps_partial(fake_anthropic: FakeAnthropic, llm_client) -> None:
    fake_anthropic.error_after = 2
    client = _client(llm_client, fake_anthropic)
    response = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}],
                                              "conversation_id": "c", "assistant_message_id": "a"})
    events = sse_events(response.content)
    assert answer_of(events)[0] == "Hi from"
    assert "Overloaded" in events[-2]["error"]["message"]
    saved = client.get("/api/conversations/c").json()["messages"][-1]
    assert (saved["content"], saved["interrupted"]) == ("Hi from", "upstream_error")


def test_wrong_key_and_unknown_model(fake_anthropic: FakeAnthropic, llm_client) -> None:
    client = _client(llm_client, fake_anthropic, key="wrong")
    refused = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}], "stream": True})
    assert refused.status_code == 502 and "invalid x-api-key" in refused.json()["error"]
    client.put("/api/connections", json={"id": "claude", "compat": "anthropic", "base_url": fake_anthropic.url,
                                         "api_key": KEY})
    unknown = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}], "model": "gpt-x"})
    assert unknown.status_code == 400 and "gpt-x" in unknown.json()["error"]


def test_content_and_error_in_one_read_keep_the_partial(llm_client) -> None:
    import json

    from pluma_core.testing import RawHTTPServer, RawRequest, RawResponder

    def event(name: str, value: dict) -> str:
        return f"event: {name}\ndata: {json.dumps(value)}\n\n"

    async def handler(request: RawRequest, respond: RawResponder) -> None:
        await respond.head(200, {"Content-Type": "text/event-stream"})
        await respond.write(
            event("message_start", {"type": "message_start", "message": {"id": "m1", "model": "c", "usage": {}}})
            + event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": "Half"}})
            + "event: ping\ndata: not json\n\n"
            + event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": " done"}})
            + event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))

    with RawHTTPServer(handler) as server:
        client = llm_client()
        client.put("/api/connections", json={"id": "raw", "compat": "anthropic", "base_url": server.base_url,
                                             "model": "c", "api_key": KEY})
        response = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}],
                                                  "conversation_id": "c", "assistant_message_id": "a"})
    events = sse_events(response.content)
    assert answer_of(events)[0] == "Half done"
    assert "Overloaded" in events[-2]["error"]["message"] and events[-1] == "[DONE]"
    saved = client.get("/api/conversations/c").json()["messages"][-1]
    assert (saved["content"], saved["partial"]) == ("Half done", True)
