"""A chat's life around the answer: the client leaving, time running out, and the conversation,
its persona, its character or its messages changing under it. Real loopback servers throughout."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx

from pluma_core.testing import serve_asgi
from pluma_core.testing.openai import FakeOpenAI, read_until, sse_events

HI = [{"role": "user", "content": "Hi"}]



def _last_message(http: httpx.Client, cid: str) -> dict | None:
    messages = http.get(f"/api/conversations/{cid}").json()["messages"]
    return messages[-1] if messages[-1]["role"] == "assistant" else None


# -- the client goes away, time runs out (non-streamed answers) ------------------------------------
def test_non_streamed_chat_cancels_the_upstream_when_the_client_leaves(fake_openai: FakeOpenAI, make_app,
                                                                        wait_for) -> None:
    fake_openai.hold_after = 2  # "Hello", ",", then the upstream waits for the gate
    app = make_app(load_entrypoints=True, base_url=fake_openai.url)
    with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=30) as http:
        body = json.dumps({"messages": HI, "stream": False, "conversation_id": "nc",
                           "assistant_message_id": "a1"}).encode()
        address = urlsplit(pluma)
        with socket.create_connection((address.hostname, address.port)) as sock:
            sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (address.netloc.encode(), len(body), body))
            wait_for(fake_openai.gate.reached.is_set, "the upstream to be mid-answer")
        # The client hung up while Pluma was still collecting the answer.
        saved = wait_for(lambda: _last_message(http, "nc"), "the partial answer to be saved")
        assert saved["content"] == "Hello,"
        assert saved["partial"] is True and saved["interrupted"] == "client_disconnected"
        fake_openai.gate.release()
        wait_for(lambda: fake_openai.disconnects == 1, "the upstream request to be cancelled")


def test_non_streamed_chat_has_an_overall_time_limit(fake_openai: FakeOpenAI, make_app, wait_for) -> None:
    fake_openai.hold_after = 2  # held until the test ends: only the limit can end this answer
    app = make_app(load_entrypoints=True, base_url=fake_openai.url, chat_timeout=0.5)
    with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=30) as http:
        response = http.post("/api/chat", json={"messages": HI, "stream": False, "conversation_id": "slow",
                                                "assistant_message_id": "a1"})
        assert response.status_code == 504
        assert "within 0.5 s" in response.json()["error"]
        saved = _last_message(http, "slow")
        assert saved is not None
        assert saved["partial"] is True and saved["interrupted"] == "upstream_error"
        assert "within 0.5 s" in saved["error"]
        fake_openai.gate.release()
        wait_for(lambda: fake_openai.disconnects == 1, "the upstream request to be cancelled")


# -- the conversation is deleted while its answer streams -------------------------------------------
def test_a_conversation_deleted_mid_answer_stays_deleted(fake_openai: FakeOpenAI, make_app) -> None:
    fake_openai.hold_after = 2
    app = make_app(load_entrypoints=True, base_url=fake_openai.url)
    with serve_asgi(app) as pluma, httpx.Client(base_url=pluma, timeout=30) as http:
        body = {"messages": HI, "conversation_id": "doomed", "assistant_message_id": "a1"}
        with http.stream("POST", "/api/chat", json=body) as response:
            texts = response.iter_text()
            early = read_until(texts, '"content":","')
            assert http.delete("/api/conversations/doomed").status_code == 204
            fake_openai.gate.release()
            rest = "".join(texts)
        assert sse_events(early + rest)[-1] == "[DONE]"
        # The relay's ending (and its save) has run before the last bytes were sent.
        assert http.get("/api/conversations/doomed").status_code == 404
        assert all(c["id"] != "doomed" for c in http.get("/api/conversations").json())


# -- the persona or character is deleted ------------------------------------------------------------
def test_deleted_persona_and_character_fall_back_to_none(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    assert client.put("/api/personas/p1", json={"name": "Ada"}).status_code == 200
    created = client.post("/api/characters", json={"data": {"name": "Bo", "description": "A pilot."}})
    assert created.status_code == 201
    char = created.json()["id"]

    def system_sent() -> str:
        first = fake_openai.requests[-1]["json"]["messages"][0]
        return first["content"] if first["role"] == "system" else ""

    def chat(**extra: object) -> httpx.Response:
        return client.post("/api/chat", json={"messages": HI, "conversation_id": "c", "stream": False, **extra})

    assert chat(persona_id="p1", character_id=char).status_code == 200
    assert "Ada" in system_sent() and "A pilot." in system_sent()

    assert client.delete("/api/personas/p1").status_code == 204
    after_persona = chat()
    assert after_persona.status_code == 200, after_persona.text
    assert "Ada" not in system_sent() and "A pilot." in system_sent()
    record = client.get("/api/conversations/c").json()
    assert record.get("persona_id") is None and record["character_id"] == char

    assert client.delete(f"/api/characters/{char}").status_code == 204
    after_character = chat()
    assert after_character.status_code == 200, after_character.text
    assert fake_openai.requests[-1]["json"]["messages"] == HI
    assert client.get("/api/conversations/c").json().get("character_id") is None

    # An id the client names itself must exist.
    unknown = chat(persona_id="p1")
    assert unknown.status_code == 404 and "p1" in unknown.json()["error"]


def test_null_in_the_body_clears_the_stored_persona(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    client.put("/api/personas/p2", json={"name": "Lee"})
    body = {"messages": HI, "conversation_id": "n", "stream": False}
    assert client.post("/api/chat", json={**body, "persona_id": "p2"}).status_code == 200
    assert "Lee" in fake_openai.requests[-1]["json"]["messages"][0]["content"]
    assert client.post("/api/chat", json={**body, "persona_id": None}).status_code == 200
    assert fake_openai.requests[-1]["json"]["messages"] == HI
    assert client.get("/api/conversations/n").json().get("persona_id") is None
    assert client.post("/api/chat", json=body).status_code == 200
    assert fake_openai.requests[-1]["json"]["messages"] == HI  # it stays cleared


# -- client-chosen message ids ------------------------------------------------------------------------
def test_message_ids_cannot_overwrite_another_role(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)

    def chat(user_id: str, assistant_id: str, text: str = "Hi") -> httpx.Response:
        return client.post("/api/chat", json={"messages": [{"role": "user", "content": text}], "stream": False,
                                              "conversation_id": "ids", "user_message_id": user_id,
                                              "assistant_message_id": assistant_id})

    def saved() -> list[tuple[str, str, str]]:
        return [(m["id"], m["role"], m["content"])
                for m in client.get("/api/conversations/ids").json()["messages"]]

    same = chat("x", "x")
    assert same.status_code == 400 and "differ" in same.json()["error"]
    assert fake_openai.requests == []
    assert client.get("/api/conversations/ids").status_code == 404

    assert chat("u1", "a1").status_code == 200
    before = saved()
    assert before == [("u1", "user", "Hi"), ("a1", "assistant", "Hello, world!")]
    taken = chat("a1", "a2", "Overwrite?")
    assert taken.status_code == 409 and "assistant" in taken.json()["error"]
    reversed_ = chat("u2", "u1")
    assert reversed_.status_code == 409 and "user" in reversed_.json()["error"]
    assert saved() == before
    assert [r["path"] for r in fake_openai.requests].count("/v1/chat/completions") == 1

    # The same user id again is an edit: allowed, replaced in place.
    assert chat("u1", "a1", "Hi again").status_code == 200
    assert saved() == [("u1", "user", "Hi again"), ("a1", "assistant", "Hello, world!")]
