"""Hook implementations of pluma-llm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pluma_core import hookimpl
from pluma_core.registry_types import ConfigSection, Migrations
from pluma_llm.providers import anthropic, openai
from pluma_llm.routes import ConnectionController, chat, get_health, list_models
from pluma_llm.schemas import LlmKeys
from pluma_llm.store import MIGRATIONS


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``base_url``: the fallback connection used while no profile exists."""
    return [ConfigSection(schema=LlmKeys)]


@hookimpl
def register_migrations() -> list[Migrations]:
    """The ``llm_connections`` and ``llm_state`` tables."""
    return [MIGRATIONS]


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """Chat, models, health and the connection routes."""
    return [chat, list_models, get_health, ConnectionController]


@hookimpl
def register_llm_providers(pluma: Any) -> dict[str, Callable[..., Any]]:
    """The built-in ``openai`` and ``anthropic`` providers."""
    return {"openai": openai.factory, "anthropic": anthropic.factory}
