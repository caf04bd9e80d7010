"""Installing the built-in Pluma character once, and restoring it on request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread

from pluma_core.builtin import pluma_card, pluma_png
from pluma_core.cards.model import Card
from pluma_core.config import Config

from .settings import CharacterKeys
from .store import BUILTIN_ID, CharacterStore, Entry


def install_builtin_once(store: CharacterStore, config: Config) -> bool:
    """Write ``characters/pluma.png`` on first start; returns whether it was written.

    The ``builtin_pluma_installed`` flag makes this happen once, so a user who deletes the card
    does not get it back at the next start. An existing ``pluma`` card is never overwritten.
    """
    if config.get(CharacterKeys).builtin_pluma_installed:
        return False
    exists = any((store.folder / f"{BUILTIN_ID}{s}").exists() for s in (".png", ".json"))
    if not exists:
        store.install(BUILTIN_ID, pluma_card(), pluma_png())
    config.update(CharacterKeys, builtin_pluma_installed=True)
    return not exists


def restore_builtin(store: CharacterStore, config: Config) -> tuple[Entry, Card]:
    """Re-install the pristine built-in card (replacing an edited one) and set the flag."""
    card = pluma_card()
    entry = store.install(BUILTIN_ID, card, pluma_png())
    if not config.get(CharacterKeys).builtin_pluma_installed:
        config.update(CharacterKeys, builtin_pluma_installed=True)
    store.avatars.drop("characters", BUILTIN_ID)
    return entry, card


def builtin_lifespan(store: CharacterStore, config: Config) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan factory that installs the built-in card at start-up (file I/O off the loop)."""

    @asynccontextmanager
    async def install() -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(install_builtin_once, store, config)
        yield

    return install
