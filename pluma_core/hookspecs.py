"""The plugin contract: every hook Pluma calls, typed, one docstring each.

Hooks are synchronous registration calls that do no I/O; anything asynchronous lives in the
objects they return (pluggy does not await, so an ``async def`` hook implementation is refused at
load time). Hooks are always called with keyword arguments, and returning ``None`` means
"nothing to add". Exact signatures and examples are in ``docs/hooks.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from pluma_core import PROJECT_NAME

if TYPE_CHECKING:
    import click

    from pluma_core.facade import Pluma
    from pluma_core.registry_types import (
        ConfigSection,
        HealthCheck,
        LifespanFactory,
        MiddlewareSpec,
        Migrations,
    )

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def register_config_sections() -> Iterable[ConfigSection] | None:
    """Declare configuration owned by this plugin.

    Called first, before any other hook and before ``config.toml`` is read. Return
    ``ConfigSection`` objects: ``ConfigSection(table=None, schema=MyKeys)`` adds top-level keys,
    ``ConfigSection(table="tts", schema=TtsConfig)`` owns the ``[tts]`` table. ``schema`` is a
    msgspec Struct whose field defaults are the built-in defaults. A key or table declared by two
    plugins stops start-up with an error naming both.
    """


@hookspec
def register_migrations() -> Iterable[Migrations] | None:
    """Declare SQLite schema steps for this plugin's tables in ``pluma.db``.

    Called once at start-up, after configuration. Return ``Migrations(namespace, steps)`` where
    ``steps`` is an ordered list of SQL scripts; the core applies each step once, in order, and
    records ``(namespace, version)``. Never edit a released step: append a new one.
    """


@hookspec
def register_services(pluma: Pluma) -> Mapping[str, Any] | None:
    """Publish objects other plugins use, keyed by service name (e.g. ``"prompt_builder"``).

    Called once after the provider registries are filled and before ``register_routes``, so
    route, middleware and lifespan hooks can look services up with
    ``pluma.services.get(name)`` / ``require(name)``. This is how plugins cooperate without
    importing each other; the interfaces of the core's shared services are in
    ``pluma_core/services.py``.
    """


@hookspec
def register_routes(pluma: Pluma) -> Iterable[Any] | None:
    """Return Litestar route handlers, Controllers or Routers to mount on the app.

    Paths are absolute (``/api/...``). Two plugins registering the same method and path stop
    start-up with an error naming both.
    """


@hookspec
def register_middleware(pluma: Pluma) -> Iterable[MiddlewareSpec] | None:
    """Return ``MiddlewareSpec(name, order, factory)`` objects for the request chain.

    Lower ``order`` runs further out. The core's chain holds fixed numbers (see
    ``pluma_core.registry_types.MiddlewareOrder``); pick a number between two slots to sit
    between them. ``factory(pluma)`` returns a Litestar ``ASGIMiddleware`` instance.
    """


@hookspec
def register_lifespan(pluma: Pluma) -> Iterable[LifespanFactory] | LifespanFactory | None:
    """Return async context manager factories run for the life of the server.

    Each factory is called with no arguments at start-up and entered; it is exited at shutdown
    in reverse order. Use it to open and close clients, background jobs and child processes.
    """


@hookspec
def register_llm_providers(pluma: Pluma) -> Mapping[str, Callable[..., Any]] | None:
    """Return chat provider factories keyed by ``compat`` id (for example ``"openai"``).

    A factory is called per request as ``factory(profile=..., api_key=..., client=...)`` (the
    connection profile, its key from the keyring or ``None``, the profile's pooled
    ``httpx.AsyncClient``) and returns an object with ``id``, ``upstream``,
    ``async list_models()`` and ``stream_chat(request)``: an async iterator of OpenAI-shaped
    chunk dicts, or of lists of them (the chunks one network read completed). Errors are
    ``pluma_core.errors`` types. See ``docs/writing-plugins.md``.
    """


@hookspec
def register_image_backends(pluma: Pluma) -> Mapping[str, Callable[..., Any]] | None:
    """Return image backend factories keyed by ``kind`` (for example ``"a1111"``)."""


@hookspec
def register_tts_providers(pluma: Pluma) -> Mapping[str, Callable[..., Any]] | None:
    """Return text-to-speech provider factories keyed by ``compat`` id."""


@hookspec
def register_health_checks(pluma: Pluma) -> Iterable[HealthCheck] | None:
    """Return ``HealthCheck(name, check, timeout)`` objects.

    ``check`` is an async callable returning a JSON-able dict; it is run with ``timeout``
    seconds and merged under ``checks.<name>`` in ``GET /api/health``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``pluma`` command-line group. Returns nothing."""


@hookspec
def register_exception_handlers(pluma: Pluma) -> Mapping[type[BaseException], Callable[..., Any]] | None:
    """Return a mapping of exception class to Litestar exception handler."""
