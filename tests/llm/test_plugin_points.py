"""What other plugins plug in: a third-party provider and the prompt builder service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from types import SimpleNamespace
from typing import Any

from pluma_core import hookimpl
from pluma_core.errors import NotFound
from pluma_core.testing.openai import FakeOpenAI, answer_of, sse_events


class EchoProvider:
    """A throw-away provider speaking no HTTP at all: it echoes the last user message."""

    id = "echo"

    def __init__(self, *, profile: Any, api_key: str | None, client: Any) -> None:
        self.upstream = profile.base_url
        self.api_key = api_key
        self.client = client

    async def list_models(self) -> list[dict[str, str]]:
        return [{"id": "echo-1"}]

    async def stream_chat(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        text = request["messages"][-1]["content"]
        for word in [f"[{request['model']}|{self.api_key}]", *text.split()]:
            yield {"id": "e", "object": "chat.completion.chunk", "created": 0, "model": request["model"],
                   "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
        yield {"id": "e", "object": "chat.completion.chunk", "created": 0, "model": request["model"],
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


def _echo_plugin() -> SimpleNamespace:
    @hookimpl
    def register_llm_providers(pluma: Any) -> dict[str, Any]:
        return {"echo": EchoProvider}

    return SimpleNamespace(PLUGIN_NAME="echo-provider", register_llm_providers=register_llm_providers)


def test_third_party_provider_chats(llm_client) -> None:
    client = llm_client(plugins=[_echo_plugin()])
    assert "echo" in client.get("/api/connections").json()["providers"]
    saved = client.put("/api/connections", json={"id": "e", "compat": "echo", "base_url": "http://127.0.0.1:1",
                                                  "api_key": "k1"})
    assert saved.status_code == 200
    response = client.post("/api/chat", json={"messages": [{"role": "user", "content": "one two"}],
                                              "conversation_id": "c", "assistant_message_id": "a"})
    assert answer_of(sse_events(response.content))[0] == "[echo-1|k1] one two "
    assert client.get("/api/conversations/c").json()["messages"][-1]["content"] == "[echo-1|k1] one two "
    assert client.get("/api/models").json()["models"][0]["id"] == "echo-1"


class CardBuilder:
    """A test-local PromptBuilder: one system block per character, unknown ids refused."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str | None]] = []

    def build(self, messages: list[dict[str, Any]], *, character_id: str | None = None,
              persona_id: str | None = None) -> list[dict[str, Any]]:
        self.calls.append((character_id, persona_id))
        if character_id not in (None, "ada", "bob"):
            raise NotFound(f"no character {character_id!r}")
        system = {"role": "system", "content": f"You are {character_id}; the user is {persona_id or 'You'}."}
        return [system, *messages]


def _builder_plugin(builder: CardBuilder) -> SimpleNamespace:
    @hookimpl
    def register_services(pluma: Any) -> dict[str, Any]:
        return {"prompt_builder": builder}

    return SimpleNamespace(PLUGIN_NAME="test-builder", register_services=register_services)


def test_prompt_builder_shapes_upstream_messages(fake_openai: FakeOpenAI, make_app) -> None:
    from litestar.testing import TestClient

    builder = CardBuilder()
    # The core's own builder is switched off so that this one owns the service name.
    app = make_app(plugins=[_builder_plugin(builder)], load_entrypoints=True, base_url=fake_openai.url,
                   env={"PLUMA_DISABLE_PLUGINS": "prompt"})
    hi = [{"role": "user", "content": "Hi"}]
    with TestClient(app, base_url="http://localhost") as client:
        client.post("/api/chat", json={"messages": hi, "conversation_id": "c", "character_id": "ada"})
        sent = fake_openai.requests[-1]["json"]["messages"]
        assert sent == [{"role": "system", "content": "You are ada; the user is You."}, *hi]
        assert client.get("/api/conversations/c").json()["character_id"] == "ada"
        # The stored character is used on the next turn; a persona in the body is added and saved.
        client.post("/api/chat", json={"messages": hi, "conversation_id": "c", "persona_id": "me"})
        assert fake_openai.requests[-1]["json"]["messages"][0]["content"] == "You are ada; the user is me."
        assert builder.calls == [("ada", None), ("ada", "me")]
        # Stateless chats use it when asked; plain ones never call it.
        client.post("/api/chat", json={"messages": hi, "stream": False, "character_id": "bob"})
        assert fake_openai.requests[-1]["json"]["messages"][0]["content"].startswith("You are bob")
        client.post("/api/chat", json={"messages": hi, "stream": False})
        assert fake_openai.requests[-1]["json"]["messages"] == hi
        assert len(builder.calls) == 3
        unknown = client.post("/api/chat", json={"messages": hi, "conversation_id": "d", "character_id": "zed"})
        assert unknown.status_code == 404
        assert client.get("/api/conversations/d").status_code == 404  # nothing saved for a refused prompt


class BrokenProvider(EchoProvider):
    """A provider with bugs: its failures must reach the client as 502s, never 500s."""

    async def list_models(self) -> list[dict[str, str]]:
        raise RuntimeError("boom")

    async def stream_chat(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        yield {"id": "b", "object": "chat.completion.chunk", "created": 0, "model": "m",
               "choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": None}]}
        raise KeyError("oops")


def test_buggy_third_party_provider_is_a_502(llm_client) -> None:
    @hookimpl
    def register_llm_providers(pluma: Any) -> dict[str, Any]:
        return {"broken": BrokenProvider}

    client = llm_client(plugins=[SimpleNamespace(PLUGIN_NAME="broken", register_llm_providers=register_llm_providers)])
    client.put("/api/connections", json={"id": "b", "compat": "broken", "base_url": "http://127.0.0.1:1"})
    models = client.get("/api/models")
    assert models.status_code == 502 and "RuntimeError" in models.json()["error"]
    assert client.post("/api/chat", json={"messages": [{"role": "user", "content": "x"}]}).status_code == 502
    streamed = client.post("/api/chat", json={"messages": [{"role": "user", "content": "x"}], "model": "m",
                                              "conversation_id": "c", "assistant_message_id": "a"})
    events = sse_events(streamed.content)
    assert answer_of(events)[0] == "par" and "KeyError" in events[-2]["error"]["message"]
    assert client.get("/api/conversations/c").json()["messages"][-1]["interrupted"] == "upstream_error"
    assert client.post("/api/connections/test", json={"compat": "broken", "base_url": "http://127.0.0.1:1"}
                       ).json()["ok"] is False
