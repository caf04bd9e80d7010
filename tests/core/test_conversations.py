"""The seven conversation routes: behaviour, validation, and concurrent writes losing nothing."""

from __future__ import annotations

import threading

import pytest
from litestar.testing import TestClient


def _conv(title: str = "Hello", n: int = 2, **extra: object) -> dict:
    messages = [
        {"id": f"m{i}", "role": "user" if i % 2 == 0 else "assistant", "content": f"text {i}"} for i in range(n)
    ]
    return {"title": title, "messages": messages, **extra}


def test_put_get_list_roundtrip_keeps_unknown_fields(client: TestClient) -> None:
    body = _conv(character_id="seraphina", ui={"pinned": True})
    body["messages"][0]["attachments"] = [{"name": "m0-1.png", "kind": "image"}]
    body["messages"][1]["content"] = [{"type": "text", "text": "multi-part"}]
    saved = client.put("/api/conversations/abc", json=body).json()
    assert saved["id"] == "abc" and saved["character_id"] == "seraphina" and saved["ui"] == {"pinned": True}
    one = client.get("/api/conversations/abc").json()
    assert [m["id"] for m in one["messages"]] == ["m0", "m1"]
    assert one["messages"][0]["attachments"][0]["name"] == "m0-1.png"
    assert one["messages"][1]["content"] == [{"type": "text", "text": "multi-part"}]
    everything = client.get("/api/conversations").json()
    assert [c["id"] for c in everything] == ["abc"] and everything[0]["messages"] == one["messages"]


def test_put_overwrites_and_path_id_wins(client: TestClient) -> None:
    client.put("/api/conversations/abc", json=_conv(n=4))
    saved = client.put("/api/conversations/abc", json={**_conv("New", n=1), "id": "other"}).json()
    assert saved["id"] == "abc" and saved["title"] == "New" and len(saved["messages"]) == 1
    assert client.get("/api/conversations/other").status_code == 404


def test_draft_creates_conversation_and_persists(client: TestClient) -> None:
    assert client.patch("/api/conversations/fresh/draft", json={"draft": "half a thought"}).status_code == 204
    record = client.get("/api/conversations/fresh").json()
    assert record["draft"] == "half a thought" and record["messages"] == []


def test_patch_and_delete_one_message(client: TestClient) -> None:
    client.put("/api/conversations/abc", json=_conv(n=3))
    edited = client.patch("/api/conversations/abc/messages/m1", json={"content": "better", "note": "x"}).json()
    assert edited["content"] == "better" and edited["role"] == "assistant" and edited["note"] == "x"
    assert client.delete("/api/conversations/abc/messages/m0").status_code == 204
    record = client.get("/api/conversations/abc").json()
    assert [(m["id"], m["content"]) for m in record["messages"]] == [("m1", "better"), ("m2", "text 2")]
    assert client.delete("/api/conversations/abc/messages/m0").status_code == 404
    assert client.patch("/api/conversations/abc/messages/nope", json={"content": "x"}).status_code == 404


def test_delete_conversation(client: TestClient) -> None:
    client.put("/api/conversations/abc", json=_conv())
    assert client.delete("/api/conversations/abc").status_code == 204
    assert client.get("/api/conversations/abc").status_code == 404
    assert client.delete("/api/conversations/abc").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/conversations/a.b", None, 400),
        ("GET", "/api/conversations/" + "x" * 65, None, 400),
        ("PUT", "/api/conversations/abc", {"messages": [{"id": "../etc", "role": "user"}]}, 400),
        ("PUT", "/api/conversations/abc", {"messages": [{"id": "m1", "role": "wizard"}]}, 400),
        ("PUT", "/api/conversations/abc", {"messages": "nope"}, 400),
        ("PUT", "/api/conversations/abc", [1, 2], 400),
        ("PUT", "/api/conversations/abc",
         {"messages": [{"id": "m1", "role": "user"}, {"id": "m1", "role": "user"}]}, 400),
        ("PATCH", "/api/conversations/abc/draft", {"draft": 5}, 400),
        ("PATCH", "/api/conversations/abc/draft", {}, 400),
        ("PATCH", "/api/conversations/abc/messages/m%2F1", {"content": "x"}, 404),
        ("PATCH", "/api/conversations/abc/messages/m%2E1", {"content": "x"}, 400),
        ("POST", "/api/conversations/abc", {}, 405),
    ],
)
def test_bad_input_gets_json_error(client: TestClient, method: str, path: str, body: object, status: int) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str)


def test_malformed_json_and_oversized_body(client: TestClient) -> None:
    response = client.put("/api/conversations/abc", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "error" in response.json()
    big = b'{"draft": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = client.patch("/api/conversations/abc/draft", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json() == {"error": "request body too large"}


def test_concurrent_draft_saves_and_appends_lose_nothing(client: TestClient) -> None:
    """A draft save racing message appends: every append survives and the last draft wins."""
    app = client.app
    store = app.state["pluma"].conversations
    client.put("/api/conversations/race", json={"title": "t", "messages": []})
    errors: list[BaseException] = []

    def appender(worker: int) -> None:
        try:
            for i in range(40):
                store.upsert_message("race", {"id": f"w{worker}-{i}", "role": "user", "content": f"{worker}/{i}"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def drafter() -> None:
        try:
            for i in range(80):
                response = client.patch("/api/conversations/race/draft", json={"draft": f"draft {i}"})
                assert response.status_code == 204
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(w,)) for w in range(3)] + [threading.Thread(target=drafter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    record = client.get("/api/conversations/race").json()
    assert record["draft"] == "draft 79"
    ids = [m["id"] for m in record["messages"]]
    assert len(ids) == 120 and len(set(ids)) == 120
    for worker in range(3):  # each writer's messages stay in its own order
        mine = [m for m in ids if m.startswith(f"w{worker}-")]
        assert mine == [f"w{worker}-{i}" for i in range(40)]


def test_upsert_replaces_in_place(client: TestClient) -> None:
    store = client.app.state["pluma"].conversations
    client.put("/api/conversations/abc", json=_conv(n=3))
    store.upsert_message("abc", {"id": "m1", "role": "assistant", "content": "regenerated", "partial": True})
    record = client.get("/api/conversations/abc").json()
    assert [m["id"] for m in record["messages"]] == ["m0", "m1", "m2"]
    assert record["messages"][1]["content"] == "regenerated" and record["messages"][1]["partial"] is True


def test_upsert_without_create_does_not_resurrect_a_deleted_conversation(client: TestClient) -> None:
    store = client.app.state["pluma"].conversations
    client.put("/api/conversations/gone", json=_conv(n=1))
    assert client.delete("/api/conversations/gone").status_code == 204
    assert store.upsert_message("gone", {"id": "a1", "role": "assistant", "content": "late"}, create=False) is None
    assert client.get("/api/conversations/gone").status_code == 404
    assert store.upsert_message("new", {"id": "u1", "role": "user", "content": "hi"})["content"] == "hi"
