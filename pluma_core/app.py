"""``create_app()``: build the facade, call every hook, compose one Litestar app."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins import InitPlugin

from pluma_core.config import Config, Settings
from pluma_core.conversations.store import MIGRATIONS as CONVERSATION_MIGRATIONS
from pluma_core.conversations.store import ConversationStore
from pluma_core.errors import (
    PlumaError,
    StartupError,
    handle_http_exception,
    handle_pluma_error,
    handle_recursion,
    handle_unexpected,
)
from pluma_core.facade import Pluma
from pluma_core.http.clients import HttpClients
from pluma_core.jobs import JobRegistry
from pluma_core.limits import JSON_BODY_MAX
from pluma_core.plugins import PluginHost
from pluma_core.registry_types import ConfigSection, HealthCheck, MiddlewareSpec, Migrations
from pluma_core.security.ssrf import SsrfGuardedFetcher
from pluma_core.storage.crypto import Cipher, create_storage_key, load_storage_key
from pluma_core.storage.datadir import ensure_data_dir, state_dir
from pluma_core.storage.db import Database
from pluma_core.storage.secrets import open_secret_store

log = logging.getLogger("pluma")

KEY_CHECK_META = "storage-key-check"
_PARAM = re.compile(r"\{[^}]*\}")


def _plugin_name(plugin: object, index: int) -> str:
    for attr in ("PLUGIN_NAME", "__name__"):
        value = getattr(plugin, attr, None)
        if isinstance(value, str):
            return value
    return f"{type(plugin).__name__}-{index}"


def build_plugin_host(
    settings: Settings, plugins: Sequence[object] | None = None, load_entrypoints: bool = True
) -> PluginHost:
    """Defaults, then explicitly passed plugins, then entry points."""
    host = PluginHost(settings.env)
    host.load_defaults()
    for index, plugin in enumerate(plugins or ()):
        host.add(plugin, _plugin_name(plugin, index))
    if load_entrypoints:
        host.load_entrypoints()
    return host


def load_config(settings: Settings, host: PluginHost) -> Config:
    """Collect every plugin's config sections and read ``config.toml``."""
    sections: list[tuple[ConfigSection, str]] = []
    for owner, result in host.call_each("register_config_sections"):
        sections.extend((section, owner) for section in _as_list(result))
    return Config(settings.data_dir / "config.toml", sections, settings)


def open_storage(settings: Settings) -> tuple[Database, Cipher, Any]:
    """The secret store, the storage key (checked against the database) and ``pluma.db``."""
    secrets = open_secret_store(state_dir(settings.env))
    key = load_storage_key(secrets)
    db = Database(settings.data_dir / "pluma.db")
    check = db.get_meta(KEY_CHECK_META)
    restore = "Restore it with `pluma import-storage-key FILE`, or point --data-dir at another folder."
    if key is None and check is not None:
        # Never create a new key for data encrypted with another: the import would then need --force.
        db.close()
        raise StartupError(f"{db.path} is encrypted, but {secrets.description} holds no storage key. {restore}")
    if key is None:
        key = create_storage_key(secrets)
    cipher = Cipher(key)
    if check is None:
        db.set_meta(KEY_CHECK_META, cipher.key_check_blob())
    elif not cipher.verify_key_check(check):
        db.close()
        raise StartupError(f"the storage key in {secrets.description} does not open {db.path}. {restore}")
    return db, cipher, secrets


def _as_list(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, (list, tuple, set, frozenset)):
        return list(result)
    return [result]


def run_migrations(db: Database, host: PluginHost) -> None:
    """The core's tables first, then each plugin's; a namespace may have one owner only."""
    owners: dict[str, str] = {CONVERSATION_MIGRATIONS.namespace: "core"}
    db.migrate(CONVERSATION_MIGRATIONS)
    for owner, result in host.call_each("register_migrations"):
        for migrations in _as_list(result):
            if not isinstance(migrations, Migrations):
                raise StartupError(f"plugin {owner!r}: register_migrations must return Migrations objects")
            if migrations.namespace in owners:
                raise StartupError(
                    f"duplicate migrations namespace {migrations.namespace!r}: plugin "
                    f"{owners[migrations.namespace]!r} and plugin {owner!r}"
                )
            owners[migrations.namespace] = owner
            db.migrate(migrations)


def build_facade(settings: Settings, host: PluginHost) -> Pluma:
    """Everything a hook may use, created in dependency order."""
    ensure_data_dir(settings.data_dir)
    config = load_config(settings, host)
    config.write_if_missing()
    db, cipher, secrets = open_storage(settings)
    try:
        run_migrations(db, host)
    except BaseException:
        db.close()
        raise
    pluma = Pluma(
        settings=settings,
        config=config,
        data_dir=settings.data_dir,
        db=db,
        secrets=secrets,
        cipher=cipher,
        conversations=ConversationStore(db, cipher),
        http=HttpClients(),
        jobs=JobRegistry(),
        plugins=host,
    )
    pluma.url_fetcher = SsrfGuardedFetcher()
    for hook, registry in (
        ("register_llm_providers", pluma.llm_providers),
        ("register_image_backends", pluma.image_backends),
        ("register_tts_providers", pluma.tts_providers),
    ):
        for owner, mapping in host.call_each(hook, pluma=pluma):
            for name, factory in dict(mapping).items():
                registry.add(name, factory, owner)
    for owner, services in host.call_each("register_services", pluma=pluma):
        for name, service in dict(services).items():
            pluma.services.add(name, service, owner)
    for owner, result in host.call_each("register_health_checks", pluma=pluma):
        for check in _as_list(result):
            if not isinstance(check, HealthCheck):
                raise StartupError(f"plugin {owner!r}: register_health_checks must return HealthCheck objects")
            pluma.health_checks.add(check.name, check, owner)
    return pluma


class PlumaAppPlugin(InitPlugin):
    """Composes the Litestar app from the hooks, one helper per hook."""

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Routes, middleware, exception handlers, lifespan and the ``pluma`` dependency."""
        app_config.route_handlers.extend(self._routes())
        app_config.middleware.extend(self._middleware())
        app_config.exception_handlers.update(self._exception_handlers())
        app_config.lifespan.append(self._lifespan)
        app_config.dependencies["pluma"] = Provide(lambda: self.pluma, use_cache=True, sync_to_thread=False)
        app_config.state["pluma"] = self.pluma
        return app_config

    def _routes(self) -> list[Any]:
        seen: dict[tuple[str, str], str] = {}
        handlers: list[Any] = []
        for owner, result in self.pluma.plugins.call_each("register_routes", pluma=self.pluma):
            batch = _as_list(result)
            for route in Router(path="/", route_handlers=batch).routes:
                shape = _PARAM.sub("{}", route.path)
                for method in route.methods - {"OPTIONS", "HEAD"}:
                    if (method, shape) in seen:
                        raise StartupError(
                            f"duplicate route {method} {route.path}: registered by plugin "
                            f"{seen[(method, shape)]!r} and again by plugin {owner!r}"
                        )
                    seen[(method, shape)] = owner
            handlers.extend(batch)
        return handlers

    def _middleware(self) -> list[Any]:
        specs: list[tuple[int, str, MiddlewareSpec]] = []
        names: dict[str, str] = {}
        for owner, result in self.pluma.plugins.call_each("register_middleware", pluma=self.pluma):
            for spec in _as_list(result):
                if spec.name in names:
                    raise StartupError(
                        f"duplicate middleware {spec.name!r}: plugin {names[spec.name]!r} and plugin {owner!r}"
                    )
                names[spec.name] = owner
                specs.append((spec.order, spec.name, spec))
        self.pluma.state["middleware"] = [(order, name) for order, name, _ in sorted(specs, key=lambda s: s[:2])]
        return [spec.factory(self.pluma) for _, _, spec in sorted(specs, key=lambda s: s[:2])]

    def _exception_handlers(self) -> dict[Any, Any]:
        handlers: dict[Any, Any] = {
            PlumaError: handle_pluma_error,
            HTTPException: handle_http_exception,
            RecursionError: handle_recursion,
            Exception: handle_unexpected,
        }
        for _, mapping in self.pluma.plugins.call_each("register_exception_handlers", pluma=self.pluma):
            handlers.update(dict(mapping))
        return handlers

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        pluma = self.pluma
        async with AsyncExitStack() as stack:
            stack.callback(pluma.db.close)
            stack.push_async_callback(pluma.http.aclose)
            stack.push_async_callback(pluma.jobs.aclose)
            for _owner, result in pluma.plugins.call_each("register_lifespan", pluma=pluma):
                for factory in _as_list(result):
                    await stack.enter_async_context(factory())
            yield


def create_app(
    settings: Settings,
    plugins: Iterable[object] | None = None,
    load_entrypoints: bool = True,
) -> Litestar:
    """The Pluma ASGI app for ``settings``, with default plugins, ``plugins`` and entry points."""
    host = build_plugin_host(settings, list(plugins or ()), load_entrypoints)
    pluma = build_facade(settings, host)
    try:
        return Litestar(
            plugins=[PlumaAppPlugin(pluma)],
            request_max_body_size=JSON_BODY_MAX,
            openapi_config=None,
            debug=False,
            logging_config=None,
        )
    except BaseException:
        pluma.db.close()
        raise
