"""Characters as a default plugin: config keys, the card store, routes, the built-in card."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.cards.avatar_cache import AvatarCache
from pluma_core.characters.builtin_install import builtin_lifespan
from pluma_core.characters.routes import CHARACTER_STORE, CharacterController, store_of
from pluma_core.characters.settings import CharacterKeys
from pluma_core.characters.store import CharacterStore
from pluma_core.registry_types import ConfigSection


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``card_dirs``, ``builtin_pluma_installed``, ``chub_api_url``, ``chub_avatars_url``."""
    return [ConfigSection(schema=CharacterKeys)]


@hookimpl
def register_services(pluma: Any) -> dict[str, Any]:
    """The ``character_store`` service (the routes and the prompt builder read cards through it)."""
    store = CharacterStore(
        pluma.data_dir / "characters",
        lambda: pluma.config.get(CharacterKeys).card_dirs,
        AvatarCache(pluma.data_dir / "cache" / "avatars"),
    )
    return {CHARACTER_STORE: store}


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """The ``/api/characters`` routes."""
    return [CharacterController]


@hookimpl
def register_lifespan(pluma: Any) -> Any:
    """At start-up, install the built-in Pluma character once (``builtin_pluma_installed``)."""
    return builtin_lifespan(store_of(pluma), pluma.config)
