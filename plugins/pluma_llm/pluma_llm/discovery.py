"""Find LLM servers on localhost and tell them apart by the shape of their answers.

Ports collide (5000: text-generation-webui and TabbyAPI; 8080: llama.cpp and mlx_lm; 8000: vLLM
and any FastAPI app), so the port only says where to look; each candidate is asked a few cheap,
server-specific questions at once and named by what answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec

from .providers.base import parse_model_list
from .schemas import Found

DEFAULT_PORTS = (11434, 8080, 1234, 5001, 8000, 5000, 1337)
PROBE_TIMEOUT = 0.8
_PATHS = (
    "/v1/models", "/api/version", "/api/tags", "/props", "/api/extra/version",
    "/v1/internal/model/info", "/api/v0/models", "/v1/model", "/version",
)


class _Answer(msgspec.Struct):
    status: int
    json: Any


async def _get(client: httpx.AsyncClient, url: str) -> _Answer | None:
    try:
        response = await client.get(url)
    except httpx.HTTPError:
        return None
    try:
        value = msgspec.json.decode(response.content) if response.content else None
    except msgspec.DecodeError:
        value = None
    return _Answer(response.status_code, value)


def _ok_json(answer: _Answer | None) -> Any:
    return answer.json if answer is not None and answer.status == 200 else None


def _owned_by(models_json: Any) -> set[str]:
    items = models_json.get("data") if isinstance(models_json, dict) else None
    return {str(i.get("owned_by", "")).lower() for i in items or () if isinstance(i, dict)}


def identify(port: int, answers: dict[str, _Answer | None]) -> tuple[str, bool] | None:
    """``(guess, needs_key)`` from the answers, or ``None`` when this is no LLM server."""
    models = answers.get("/v1/models")
    models_json = _ok_json(models)
    version = _ok_json(answers.get("/api/version"))
    tags = _ok_json(answers.get("/api/tags"))
    if isinstance(version, dict) and "version" in version and isinstance(tags, dict) and "models" in tags:
        return "ollama", False
    kobold = _ok_json(answers.get("/api/extra/version"))
    if isinstance(kobold, dict) and str(kobold.get("result", "")).lower() == "koboldcpp":
        return "koboldcpp", False
    props = _ok_json(answers.get("/props"))
    if isinstance(props, dict) and ("default_generation_settings" in props or "build_info" in props):
        return "llama.cpp", False
    lmstudio = _ok_json(answers.get("/api/v0/models"))
    items = lmstudio.get("data") if isinstance(lmstudio, dict) else None
    if isinstance(items, list) and any(isinstance(i, dict) and "compatibility_type" in i for i in items):
        return "lmstudio", False
    owners = _owned_by(models_json)
    if "tabbyapi" in owners:
        return "tabbyapi", False
    info = _ok_json(answers.get("/v1/internal/model/info"))
    if isinstance(info, dict) and "model_name" in info:
        return "text-generation-webui", False
    data = models_json.get("data") if isinstance(models_json, dict) else None
    if "vllm" in owners or any(isinstance(i, dict) and "max_model_len" in i for i in data or ()):
        return "vllm", False
    if models is not None and models.status in (401, 403):
        # A keyed OpenAI endpoint: Jan always needs one; otherwise we cannot tell who it is.
        return ("jan" if port == 1337 else "openai-compatible"), True
    if models_json is not None:
        try:
            parse_model_list(models_json)
        except Exception:
            return None
        return "openai-compatible", False
    return None


async def probe_port(client: httpx.AsyncClient, host: str, port: int) -> Found | None:
    """Ask one port every identifying question at once."""
    base = f"http://{host}:{port}"
    first = await _get(client, f"{base}/v1/models")
    if first is None:
        return None  # nothing listens (or it is too slow): skip the other questions
    rest = await asyncio.gather(*(_get(client, base + path) for path in _PATHS[1:]))
    answers = {"/v1/models": first, **dict(zip(_PATHS[1:], rest, strict=True))}
    verdict = identify(port, answers)
    if verdict is None:
        return None
    guess, needs_key = verdict
    models: list[str] = []
    for source in ("/v1/models", "/api/tags"):
        value = _ok_json(answers.get(source))
        if value is not None:
            try:
                models = [m.id for m in parse_model_list(value)]
            except Exception:
                continue
            if models:
                break
    return Found(base_url=base, guess=guess, compat="openai", models=models, needs_key=needs_key)


async def discover(ports: list[int] | tuple[int, ...] = DEFAULT_PORTS, host: str = "127.0.0.1",
                   timeout: float = PROBE_TIMEOUT) -> list[Found]:
    """Probe ``ports`` on ``host`` concurrently, each question with ``timeout`` seconds."""
    unique = list(dict.fromkeys(p for p in ports if 0 < p < 65536))
    async with httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        results = await asyncio.gather(*(probe_port(client, host, port) for port in unique))
    return [found for found in results if found is not None]
