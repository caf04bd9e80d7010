"""Personas as a default plugin: ``display_name``, the persona store, and its routes."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.cards.avatar_cache import AvatarCache
from pluma_core.personas.routes import PERSONA_STORE, PersonaController
from pluma_core.personas.settings import DEFAULT_USER_NAME, PersonaKeys
from pluma_core.personas.store import PersonaStore
from pluma_core.registry_types import ConfigSection


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``display_name``: the user's name when no persona is attached (default "You")."""
    return [ConfigSection(schema=PersonaKeys)]


@hookimpl
def register_services(pluma: Any) -> dict[str, Any]:
    """The ``persona_store`` service (the routes and the prompt builder read personas through it)."""
    store = PersonaStore(
        pluma.data_dir / "personas",
        AvatarCache(pluma.data_dir / "cache" / "avatars"),
        lambda: pluma.config.get(PersonaKeys).display_name.strip() or DEFAULT_USER_NAME,
    )
    return {PERSONA_STORE: store}


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """The ``/api/personas`` routes."""
    return [PersonaController]
