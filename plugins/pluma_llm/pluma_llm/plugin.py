"""Hook implementations of pluma-llm."""

from __future__ import annotations

from pluma_core import hookimpl
from pluma_core.registry_types import ConfigSection
from pluma_llm.schemas import LlmKeys


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``base_url``: the fallback connection used while no profile exists."""
    return [ConfigSection(schema=LlmKeys)]
