"""Each upstream reality the relay must survive, served byte by byte by a misbehaving server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from pluma_core.testing import RawHTTPServer, RawRequest, RawResponder
from pluma_core.testing.openai import answer_of, sse_events

HI = [{"role": "user", "content": "Hi"}]
Script = Callable[[RawResponder], Awaitable[None]]


def chunk(delta: dict, finish: str | None = None) -> str:
    return json.dumps({"id": "chatcmpl-q", "object": "chat.completion.chunk", "created": 1, "model": "q",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}, ensure_ascii=False)


def upstream(script: Script, models: object = None) -> RawHTTPServer:
    async def handler(request: RawRequest, respond: RawResponder) -> None:
        if request.path == "/v1/models":
            await respond.json(200, models if models is not None else {"data": [{"id": "q"}]})
        else:
            await script(respond)
    return RawHTTPServer(handler)


async def sse_head(respond: RawResponder) -> None:
    await respond.head(200, {"Content-Type": "text/event-stream"})


async def writes(respond: RawResponder, *parts: bytes | str) -> None:
    """Each part is its own TCP write, with a pause so the reads on our side are separate too."""
    for part in parts:
        await respond.write(part)
        await asyncio.sleep(0.01)


def chat(llm_client, server: RawHTTPServer, **body):
    client = llm_client(base_url=server.base_url)
    response = client.post("/api/chat", json={"messages": HI, "model": "q", "stream": True, **body})
    return client, response


def test_event_and_utf8_character_split_across_reads(llm_client) -> None:
    event = f"data: {chunk({'content': 'né 🎉 ok'})}\n\n".encode()
    cut_in_emoji = event.index("🎉".encode()) + 2
    cut_in_e = event.index("é".encode()) + 1

    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, event[:cut_in_e], event[cut_in_e:cut_in_emoji], event[cut_in_emoji:],
                     f"data: {chunk({}, 'stop')}\n\n", "data: [DONE]\n\n")

    with upstream(script) as server:
        _, response = chat(llm_client, server)
    assert answer_of(sse_events(response.content)) == ("né 🎉 ok", "")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline: str, llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        body = "".join(f"data: {c}{newline}{newline}" for c in
                       (chunk({"content": "one "}), chunk({"content": "two"}), chunk({}, "stop"))) + "data: [DONE]"
        # Cut between the CR and the LF of a line end as well.
        middle = body.index(newline) + 1
        await writes(respond, body[:middle], body[middle:] + newline + newline)

    with upstream(script) as server:
        _, response = chat(llm_client, server)
    assert answer_of(sse_events(response.content)) == ("one two", "")


def test_comments_and_keepalives_are_skipped(llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, ": OPENROUTER PROCESSING\n\n", ":\n\n", f"data: {chunk({'content': 'x'})}\n\n",
                     ": ping\n\n", "retry: 100\n\n", f"data: {chunk({}, 'stop')}\n\ndata: [DONE]\n\n")

    with upstream(script) as server:
        _, response = chat(llm_client, server)
    events = sse_events(response.content)
    assert answer_of(events) == ("x", "")
    assert events[-1] == "[DONE]"


@pytest.mark.parametrize(("status", "body", "ours", "words"), [
    (400, {"error": {"message": "context length exceeded", "type": "invalid_request_error"}}, 400,
     "context length exceeded"),
    (500, {"detail": "model crashed"}, 502, "model crashed"),
    (503, {"object": "error", "message": "loading model"}, 502, "loading model"),
    (401, {"error": "bad key"}, 502, "API key"),
])
def test_error_json_before_the_stream(status: int, body: dict, ours: int, words: str, llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await respond.json(status, body)

    with upstream(script) as server:
        _, response = chat(llm_client, server)
    assert response.status_code == ours
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["error"]


@pytest.mark.parametrize("error_line", [
    'data: {"error": {"message": "out of memory", "type": "server_error"}}\n\n',
    'error: {"message": "out of memory", "code": 500}\n\ndata: [DONE]\n\n',  # llama.cpp before PR 16109
])
def test_error_event_after_200_is_relayed_and_partial_saved(error_line: str, llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, f"data: {chunk({'role': 'assistant', 'content': 'Half an'})}\n\n",
                     f"data: {chunk({'content': ' answer'})}\n\n", error_line)

    with upstream(script) as server:
        client, response = chat(llm_client, server, conversation_id="c1", assistant_message_id="a1")
    assert response.status_code == 200
    events = sse_events(response.content)
    assert answer_of(events)[0] == "Half an answer"
    assert events[-2]["error"]["type"] == "upstream_error"
    assert "out of memory" in events[-2]["error"]["message"]
    assert events[-1] == "[DONE]"
    saved = client.get("/api/conversations/c1").json()["messages"][-1]
    assert saved["content"] == "Half an answer"
    assert saved["partial"] is True
    assert saved["interrupted"] == "upstream_error"


def test_socket_closed_without_finish_is_an_interruption(llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, f"data: {chunk({'content': 'cut'})}\n\n")

    with upstream(script) as server:
        client, response = chat(llm_client, server, conversation_id="c1", assistant_message_id="a1")
    events = sse_events(response.content)
    assert "before the answer finished" in events[-2]["error"]["message"]
    assert client.get("/api/conversations/c1").json()["messages"][-1]["interrupted"] == "upstream_error"


def test_missing_done_after_finish_is_complete(llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, f"data: {chunk({'content': 'whole'})}\n\n", f"data: {chunk({}, 'stop')}")

    with upstream(script) as server:
        client, response = chat(llm_client, server, conversation_id="c1", assistant_message_id="a1")
    events = sse_events(response.content)
    assert events[-1] == "[DONE]"
    assert not any(isinstance(e, dict) and "error" in e for e in events)
    saved = client.get("/api/conversations/c1").json()["messages"][-1]
    assert saved["content"] == "whole" and "partial" not in saved


def test_think_tags_split_across_reads(llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        parts = ["<th", "ink>Mull", "ing</th", "ink>An", "swer"]
        await writes(respond, *(f"data: {chunk({'content': p})}\n\n" for p in parts),
                     f"data: {chunk({}, 'stop')}\n\ndata: [DONE]\n\n")

    with upstream(script) as server:
        _, response = chat(llm_client, server)
    assert answer_of(sse_events(response.content)) == ("Answer", "Mulling")


@pytest.mark.parametrize("models", [
    {"object": "list", "data": [{"id": "a"}, {"id": "b", "owned_by": "x"}]},
    {"models": [{"name": "a", "model": "a"}, {"name": "b"}]},
    {"data": [{"name": "a"}, {"model": "b"}]},
])
def test_model_list_shapes(models: object, llm_client) -> None:
    async def never(respond: RawResponder) -> None:
        await respond.json(404, {})

    with upstream(never, models) as server:
        client = llm_client(base_url=server.base_url)
        assert [m["id"] for m in client.get("/api/models").json()["models"]] == ["a", "b"]


def test_non_streaming_upstream_answer_is_turned_into_chunks(llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await respond.json(200, {"id": "x", "object": "chat.completion", "created": 1, "model": "q",
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": "all at once"}}]})

    with upstream(script) as server:
        _, response = chat(llm_client, server)
    events = sse_events(response.content)
    assert answer_of(events) == ("all at once", "")
    assert events[-1] == "[DONE]"


@pytest.mark.parametrize("stream", [True, False])
def test_content_and_error_in_one_read_keep_the_partial(stream: bool, llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        # One TCP write: the content and the error arrive in the same read on our side.
        await respond.write(f"data: {chunk({'role': 'assistant', 'content': 'Half an'})}\n\n"
                            f"data: {chunk({'content': ' answer'})}\n\n"
                            'data: {"error": {"message": "out of memory", "type": "server_error"}}\n\n')

    with upstream(script) as server:
        client, response = chat(llm_client, server, conversation_id="c1", assistant_message_id="a1", stream=stream)
    if stream:
        assert response.status_code == 200
        events = sse_events(response.content)
        assert answer_of(events)[0] == "Half an answer"
        assert "out of memory" in events[-2]["error"]["message"]
        assert events[-1] == "[DONE]"
    else:
        # No stream to put an error frame in: the error is the answer, the partial is kept.
        assert response.status_code == 502 and "out of memory" in response.json()["error"]
    saved = client.get("/api/conversations/c1").json()["messages"][-1]
    assert (saved["content"], saved["partial"], saved["interrupted"]) == ("Half an answer", True, "upstream_error")


@pytest.mark.parametrize("stream", [True, False])
def test_a_malformed_data_line_is_skipped(stream: bool, llm_client, caplog: pytest.LogCaptureFixture) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, f"data: {chunk({'content': 'Hel'})}\n\n", "data: {not json SECRET-ISH\n\n",
                     "data: 42\n\n", f"data: {chunk({'content': 'lo'})}\n\n",
                     f"data: {chunk({}, 'stop')}\n\ndata: [DONE]\n\n")

    with upstream(script) as server:
        client, response = chat(llm_client, server, conversation_id="c1", assistant_message_id="a1", stream=stream)
    assert response.status_code == 200
    if stream:
        events = sse_events(response.content)
        assert answer_of(events) == ("Hello", "")
        assert not any(isinstance(e, dict) and "error" in e for e in events)
    else:
        assert response.json()["choices"][0]["message"]["content"] == "Hello"
    saved = client.get("/api/conversations/c1").json()["messages"][-1]
    assert saved["content"] == "Hello" and "partial" not in saved
    assert "not a JSON object" in caplog.text and "SECRET-ISH" not in caplog.text


def test_nothing_but_malformed_lines_is_an_error(llm_client) -> None:
    async def script(respond: RawResponder) -> None:
        await sse_head(respond)
        await writes(respond, "data: <html>oops</html>\n\n", "data: [DONE]\n\n")

    with upstream(script) as server:
        _, response = chat(llm_client, server, stream=False)
    assert response.status_code == 502
    assert "no valid event" in response.json()["error"]
