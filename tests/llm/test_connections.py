"""Connection profiles: keys in the keyring only, activation, the fallback, test and errors."""

from __future__ import annotations

import logging

import pytest

from pluma_core.testing import MemoryKeyring, free_port
from pluma_core.testing.openai import FakeOpenAI

SECRET = "sk-very-secret-0123456789"


def test_crud_with_key_redacted_and_kept_in_keyring(fake_openai: FakeOpenAI, llm_client, memory_keyring: MemoryKeyring,
                                                    pluma_settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = llm_client()
    fake_openai.api_key = SECRET
    created = client.put("/api/connections", json={"name": "Local", "base_url": fake_openai.url + "/",
                                                    "api_key": SECRET, "model": "fake-model"})
    assert created.status_code == 200, created.text
    profile = created.json()
    cid = profile["id"]
    assert profile["has_key"] is True and "api_key" not in profile
    assert profile["base_url"] == fake_openai.url
    assert memory_keyring.entries[("pluma", f"connection:{cid}")] == SECRET
    listing = client.get("/api/connections").json()
    assert listing["active_id"] == cid  # the first profile becomes active
    assert listing["providers"] == ["openai", "anthropic"]
    assert SECRET not in client.get("/api/connections").text

    # The key reaches the upstream, and chat works through the saved profile.
    answer = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}], "stream": False})
    assert answer.status_code == 200
    assert fake_openai.requests[-1]["authorization"] == f"Bearer {SECRET}"

    # Updating without api_key keeps the key; DELETE .../key clears only the key.
    updated = client.put("/api/connections", json={"id": cid, "name": "Renamed", "base_url": fake_openai.url})
    assert updated.json()["name"] == "Renamed" and updated.json()["has_key"] is True
    assert client.delete(f"/api/connections/{cid}/key").status_code == 204
    assert ("pluma", f"connection:{cid}") not in memory_keyring.entries
    assert client.get("/api/connections").json()["profiles"][0]["has_key"] is False
    refused = client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}], "stream": False})
    assert refused.status_code == 502

    db_bytes = b"".join(p.read_bytes() for p in pluma_settings.data_dir.glob("pluma.db*"))
    assert SECRET.encode() not in db_bytes
    assert SECRET not in caplog.text
    assert client.delete(f"/api/connections/{cid}").status_code == 204
    assert client.get("/api/connections").json()["profiles"] == []


def test_activate_and_delete_hand_over(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client()
    first = client.put("/api/connections", json={"id": "one", "base_url": fake_openai.url}).json()
    second = client.put("/api/connections", json={"id": "two", "base_url": "http://127.0.0.1:9"}).json()
    assert client.get("/api/connections").json()["active_id"] == first["id"]
    assert client.post("/api/connections/two/activate").json() == {"active_id": "two"}
    assert client.get("/api/health").json()["connection"]["id"] == "two"
    assert client.get("/api/health").json()["reachable"] is False
    assert client.delete(f"/api/connections/{second['id']}").status_code == 204
    assert client.get("/api/connections").json()["active_id"] == "one"
    assert client.get("/api/health").json()["reachable"] is True


def test_fallback_only_while_no_profile(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client(base_url=fake_openai.url)
    listing = client.get("/api/connections").json()
    assert listing["fallback"] == {"base_url": fake_openai.url}
    assert client.get("/api/health").json()["connection"]["source"] == "fallback"
    client.put("/api/connections", json={"id": "dead", "base_url": f"http://127.0.0.1:{free_port()}"})
    assert client.get("/api/connections").json()["fallback"] is None
    health = client.get("/api/health").json()
    assert health["connection"] == {"id": "dead", "name": "127.0.0.1", "compat": "openai", "model": "",
                                    "source": "profile"}
    assert health["reachable"] is False


def test_fallback_from_environment(fake_openai: FakeOpenAI, make_app) -> None:
    from litestar.testing import TestClient

    app = make_app(load_entrypoints=True, env={"PLUMA_BASE_URL": fake_openai.url})
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/api/models").json()["models"][0]["id"] == "fake-model"


def test_test_endpoint_never_fails(fake_openai: FakeOpenAI, llm_client) -> None:
    client = llm_client()
    ok = client.post("/api/connections/test", json={"base_url": fake_openai.url})
    assert ok.status_code == 200
    assert ok.json()["ok"] is True and ok.json()["models"] == ["fake-model"]
    assert ok.json()["latency_ms"] >= 0
    dead = client.post("/api/connections/test", json={"base_url": f"http://127.0.0.1:{free_port()}"}).json()
    assert dead["ok"] is False and "cannot reach" in dead["error"]
    fake_openai.api_key = SECRET
    keyless = client.post("/api/connections/test", json={"base_url": fake_openai.url}).json()
    assert keyless["ok"] is False and "API key" in keyless["error"]
    # With the id of a saved profile and no key in the body, the stored key is used.
    client.put("/api/connections", json={"id": "saved", "base_url": fake_openai.url, "api_key": SECRET})
    stored = client.post("/api/connections/test", json={"id": "saved", "base_url": fake_openai.url}).json()
    assert stored["ok"] is True
    bad = client.post("/api/connections/test", json={"base_url": "ftp://x", "compat": "openai"}).json()
    assert bad["ok"] is False and "http" in bad["error"]
    assert client.get("/api/connections").json()["profiles"][0]["id"] == "saved"  # test saved nothing


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("PUT", "/api/connections", {"id": "../x", "base_url": "http://127.0.0.1:1"}, 400),
    ("PUT", "/api/connections", {"base_url": "file:///etc/passwd"}, 400),
    ("PUT", "/api/connections", {"base_url": "http://user:pw@127.0.0.1:1"}, 400),
    ("PUT", "/api/connections", {"base_url": "http://127.0.0.1:1", "compat": "nope"}, 400),
    ("PUT", "/api/connections", {"id": "fallback", "base_url": "http://127.0.0.1:1"}, 400),
    ("PUT", "/api/connections", {"name": "no url"}, 400),
    ("DELETE", "/api/connections/missing", None, 404),
    ("DELETE", "/api/connections/bad$id", None, 400),
    ("DELETE", "/api/connections/missing/key", None, 404),
    ("POST", "/api/connections/missing/activate", None, 404),
])
def test_errors(method: str, path: str, body: object, status: int, llm_client) -> None:
    client = llm_client()
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_connection_body_is_capped(llm_client) -> None:
    client = llm_client()
    response = client.put("/api/connections", json={"base_url": "http://127.0.0.1:1", "name": "x" * (2 << 20)})
    assert response.status_code == 413


def test_moving_base_url_to_another_origin_forgets_the_key(fake_openai: FakeOpenAI, llm_client,
                                                            memory_keyring: MemoryKeyring) -> None:
    from pluma_core.testing import serve_asgi

    other = FakeOpenAI()
    with serve_asgi(other) as other_url:
        client = llm_client()
        client.put("/api/connections", json={"id": "p", "base_url": fake_openai.url, "api_key": SECRET})
        # Same origin, another path: the key was given for this server and stays.
        same = client.put("/api/connections", json={"id": "p", "base_url": fake_openai.url + "/v1"})
        assert same.json()["has_key"] is True
        # Another port: the stored key must not follow.
        moved = client.put("/api/connections", json={"id": "p", "base_url": other_url})
        assert moved.status_code == 200
        assert moved.json()["has_key"] is False
        assert ("pluma", "connection:p") not in memory_keyring.entries
        assert client.get("/api/health").json()["reachable"] is True
        client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}], "stream": False})
        assert other.requests and all(r["authorization"] is None for r in other.requests)
        # Testing a saved profile's id against another server does not send its key either.
        client.put("/api/connections", json={"id": "q", "base_url": fake_openai.url, "api_key": SECRET})
        tested = client.post("/api/connections/test", json={"id": "q", "base_url": other_url}).json()
        assert tested["ok"] is True
        assert all(r["authorization"] is None for r in other.requests)
        # A new key with the move is stored for the new server.
        rekeyed = client.put("/api/connections", json={"id": "q", "base_url": other_url, "api_key": "sk-new-one"})
        assert rekeyed.json()["has_key"] is True
        assert memory_keyring.entries[("pluma", "connection:q")] == "sk-new-one"


@pytest.mark.parametrize("key", ["sk-abc\r\nX-Injected: 1", "sk-abc\n", "sk-\x00abc", "sk-clé-ünï-✓"])
def test_keys_that_cannot_be_sent_are_refused_up_front(key: str, fake_openai: FakeOpenAI, llm_client,
                                                        memory_keyring: MemoryKeyring) -> None:
    client = llm_client()
    saved = client.put("/api/connections", json={"id": "k", "base_url": fake_openai.url, "api_key": key})
    assert saved.status_code == 400
    assert "api_key" in saved.json()["error"] and key not in saved.text
    assert client.get("/api/connections").json()["profiles"] == []
    assert ("pluma", "connection:k") not in memory_keyring.entries
    tested = client.post("/api/connections/test", json={"base_url": fake_openai.url, "api_key": key})
    assert tested.status_code == 200  # the test endpoint always answers its verdict in the body
    assert tested.json()["ok"] is False and "api_key" in tested.json()["error"]
    assert fake_openai.requests == []


def test_invalid_port_is_a_400(llm_client) -> None:
    client = llm_client()
    response = client.put("/api/connections", json={"base_url": "http://127.0.0.1:99999"})
    assert response.status_code == 400 and "port" in response.json()["error"]
