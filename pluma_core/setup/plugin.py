"""The first-run wizard as a default plugin."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.registry_types import ConfigSection
from pluma_core.setup.routes import SetupController
from pluma_core.setup.settings import SetupKeys


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``setup_complete``."""
    return [ConfigSection(schema=SetupKeys)]


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """``GET /api/setup/status`` and ``POST /api/setup/complete``."""
    return [SetupController]
