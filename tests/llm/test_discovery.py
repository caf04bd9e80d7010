"""Discovery names each local server by the shape of its answers, not by its port."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from pluma_core.testing import RawHTTPServer, RawRequest, RawResponder, free_port

OPENAI_LIST = {"object": "list", "data": [{"id": "m1", "object": "model", "owned_by": "someone"}]}

# path -> (status, JSON) per imitated server; every other path answers 404.
SERVERS: dict[str, dict[str, tuple[int, Any]]] = {
    "ollama": {"/api/version": (200, {"version": "0.5.7"}),
               "/api/tags": (200, {"models": [{"name": "qwen2.5:7b", "model": "qwen2.5:7b",
                                               "details": {"family": "qwen2"}}]}),
               "/v1/models": (200, {"object": "list", "data": [{"id": "qwen2.5:7b", "owned_by": "library"}]})},
    "llama.cpp": {"/props": (200, {"default_generation_settings": {"n_ctx": 4096}, "build_info": "b5000"}),
                  "/v1/models": (200, {"object": "list", "data": [{"id": "smol", "owned_by": "llamacpp"}],
                                       "models": [{"name": "smol", "model": "smol"}]})},
    "koboldcpp": {"/api/extra/version": (200, {"result": "KoboldCpp", "version": "1.80"}),
                  "/v1/models": (200, {"object": "list", "data": [{"id": "koboldcpp/mistral"}]})},
    "vllm": {"/version": (200, {"version": "0.11.0"}),
             "/v1/models": (200, {"object": "list", "data": [{"id": "Qwen/Qwen3-8B", "owned_by": "vllm",
                                                             "max_model_len": 32768}]})},
    "lmstudio": {"/api/v0/models": (200, {"data": [{"id": "gemma", "type": "llm", "compatibility_type": "gguf"}]}),
                 "/v1/models": (200, {"data": [{"id": "gemma", "object": "model", "owned_by": "organization_owner"}]})},
    "text-generation-webui": {"/v1/internal/model/info": (200, {"model_name": "llama3", "lora_names": []}),
                              "/v1/models": (200, {"object": "list", "data": [{"id": "llama3"}]})},
    "tabbyapi": {"/v1/models": (200, {"object": "list", "data": [{"id": "exl2-model", "owned_by": "tabbyAPI"}]})},
    "jan": {"/v1/models": (401, {"message": "Unauthorized"})},
    "openai-compatible": {"/v1/models": (200, OPENAI_LIST)},
    "not-llm": {"/v1/models": (404, {"detail": "Not Found"}), "/version": (200, {"version": "1.0"})},
}


def _imitate(routes: dict[str, tuple[int, Any]]) -> RawHTTPServer:
    async def handler(request: RawRequest, respond: RawResponder) -> None:
        status, body = routes.get(request.path, (404, {"detail": "Not Found"}))
        await respond.json(status, body)
    return RawHTTPServer(handler)


def test_discover_identifies_servers_by_shape(llm_client) -> None:
    client = llm_client()
    with ExitStack() as stack:
        ports = {name: stack.enter_context(_imitate(routes)).port for name, routes in SERVERS.items()}
        closed = free_port()
        response = client.post("/api/connections/discover", json={"ports": [*ports.values(), closed]})
    assert response.status_code == 200
    found = {f["base_url"]: f for f in response.json()["found"]}
    by_port = {name: found.get(f"http://127.0.0.1:{port}") for name, port in ports.items()}
    assert by_port.pop("not-llm") is None
    assert f"http://127.0.0.1:{closed}" not in found
    guesses = {name: entry["guess"] if entry else None for name, entry in by_port.items()}
    # A keyed endpoint off Jan's port cannot be told apart from any other keyed OpenAI server.
    assert guesses == {name: ("openai-compatible" if name == "jan" else name) for name in by_port}
    assert by_port["ollama"]["models"] == ["qwen2.5:7b"]
    assert by_port["jan"]["needs_key"] is True and by_port["jan"]["models"] == []
    assert all(entry["compat"] == "openai" for entry in by_port.values())
    assert client.get("/api/connections").json()["profiles"] == []  # discovery creates nothing


def test_discover_without_body_and_with_a_bad_one(llm_client) -> None:
    client = llm_client()
    assert "found" in client.post("/api/connections/discover").json()
    assert client.post("/api/connections/discover", content=b"{nope").status_code == 400
    assert client.post("/api/connections/discover", json={"ports": list(range(1, 100))}).status_code == 400
    assert client.post("/api/connections/discover", json={"ports": [70000]}).status_code == 400


def test_keyed_endpoint_on_jans_port_is_jan() -> None:
    from pluma_llm.discovery import _Answer, identify

    assert identify(1337, {"/v1/models": _Answer(401, {"message": "Unauthorized"})}) == ("jan", True)
    assert identify(8000, {"/v1/models": _Answer(401, {"message": "Unauthorized"})}) == ("openai-compatible", True)
