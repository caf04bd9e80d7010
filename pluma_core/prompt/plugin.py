"""The prompt builder as a default plugin: publishes the ``prompt_builder`` service."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.prompt.builder import CardPromptBuilder
from pluma_core.services import PROMPT_BUILDER


@hookimpl
def register_services(pluma: Any) -> dict[str, Any]:
    """The ``prompt_builder`` service for the chat plugin.

    The builder looks the card and persona stores up when it runs, so the order in which the
    plugins publish their services does not matter.
    """
    return {PROMPT_BUILDER: CardPromptBuilder(pluma.services)}
