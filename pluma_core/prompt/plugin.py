"""The prompt builder as a default plugin: publishes the ``prompt_builder`` service."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.prompt.builder import CardPromptBuilder
from pluma_core.services import PROMPT_BUILDER


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """No routes: publishes the ``prompt_builder`` service for the chat plugin.

    ``register_routes`` is the first hook that receives the facade, so services are published
    here; the builder looks the card and persona stores up when it runs.
    """
    pluma.services.add(PROMPT_BUILDER, CardPromptBuilder(pluma.services), "prompt")
    return []
