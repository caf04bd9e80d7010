"""Pluma's pytest plugin (entry point ``pytest11``): apps, clients, an in-memory keyring, and
loopback HTTP servers to stand in for upstreams. Third-party plugin authors get these too.

Fixtures: ``memory_keyring``, ``pluma_env``, ``pluma_settings``, ``make_app``, ``client``.
Servers: :func:`serve_asgi` (any ASGI app under uvicorn on a free loopback port) and
:class:`RawHTTPServer` (hand-written responses for upstreams that misbehave on purpose).
Protocol fakes live in sibling modules (``pluma_core.testing.openai`` and so on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from pluma_core.config import Settings
from pluma_core.testing.keyring_memory import MemoryKeyring
from pluma_core.testing.servers import RawHTTPServer, RawRequest, RawResponder, free_port, serve_asgi

__all__ = [
    "MemoryKeyring",
    "RawHTTPServer",
    "RawRequest",
    "RawResponder",
    "free_port",
    "serve_asgi",
]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install an empty in-memory keyring backend for one test."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def pluma_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no PLUMA_* leakage from the developer's shell, strict plugins on."""
    return {
        "PLUMA_STRICT_PLUGINS": "1",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
    }


@pytest.fixture
def pluma_settings(tmp_path: Path, pluma_env: dict[str, str]) -> Settings:
    """Settings with a fresh data dir under ``tmp_path``."""
    return Settings(data_dir=tmp_path / "data", env=dict(pluma_env))


@pytest.fixture
def make_app(
    pluma_settings: Settings, memory_keyring: MemoryKeyring
) -> Callable[..., Litestar]:
    """Factory: ``make_app(plugins=[...], load_entrypoints=False, env={...}, **overrides)``."""
    from pluma_core.app import create_app

    def factory(
        plugins: list[object] | None = None,
        load_entrypoints: bool = False,
        env: dict[str, str] | None = None,
        config_toml: str | None = None,
        **overrides: Any,
    ) -> Litestar:
        settings = Settings(
            data_dir=pluma_settings.data_dir,
            overrides=overrides,
            env={**pluma_settings.env, **(env or {})},
        )
        if config_toml is not None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            (settings.data_dir / "config.toml").write_text(config_toml, "utf-8")
        return create_app(settings, plugins=plugins, load_entrypoints=load_entrypoints)

    return factory


@pytest.fixture
def client(make_app: Callable[..., Litestar]) -> Iterator[TestClient[Litestar]]:
    """A test client on an app with the default plugins and every installed entry point."""
    # Host "localhost": the host allowlist always admits loopback names.
    with TestClient(make_app(load_entrypoints=True), base_url="http://localhost") as test_client:
        yield test_client
