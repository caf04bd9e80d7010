"""The plugin manager: default plugins, entry-point loading, and per-plugin status records.

Each entry point is loaded in isolation: one that fails to import (or implements a hook wrongly)
is recorded and skipped, or stops start-up when ``PLUMA_STRICT_PLUGINS=1``.
``PLUMA_LOAD_PLUGINS=a,b`` loads only those entry points; ``PLUMA_DISABLE_PLUGINS=a,b`` skips
those (default plugins included).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import os
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any, Literal

import msgspec
import pluggy

from pluma_core import PROJECT_NAME, hookspecs
from pluma_core.errors import StartupError

log = logging.getLogger("pluma.plugins")

ENTRY_POINT_GROUP = "pluma"

DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("core", "pluma_core.core_plugin"),
    ("conversations", "pluma_core.conversations.plugin"),
    ("security", "pluma_core.security.plugin"),
    ("auth", "pluma_core.auth.plugin"),
    ("characters", "pluma_core.characters.plugin"),
    ("personas", "pluma_core.personas.plugin"),
    ("attachments", "pluma_core.attachments.plugin"),
    ("setup", "pluma_core.setup.plugin"),
    ("prompt", "pluma_core.prompt.plugin"),
)
"""Modules of the core's own features, registered through the same hooks as everyone's."""

PluginStatus = Literal["loaded", "failed", "disabled"]


class PluginRecord(msgspec.Struct, kw_only=True):
    """What ``pluma plugins`` and ``GET /api/plugins`` show for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]
    status: PluginStatus
    default: bool = False
    error: str | None = None


def _env_list(env: Mapping[str, str], name: str) -> set[str] | None:
    raw = env.get(name)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class PluginHost:
    """Owns the pluggy PluginManager and the status of every plugin it tried to load."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.strict = _truthy(self.env.get("PLUMA_STRICT_PLUGINS"))
        self._only = _env_list(self.env, "PLUMA_LOAD_PLUGINS")
        self._disabled = _env_list(self.env, "PLUMA_DISABLE_PLUGINS") or set()

    # -- registration --------------------------------------------------------------------------
    def _fail(self, name: str, dist: str | None, version: str | None, error: str, default: bool) -> None:
        message = f"plugin {name!r} failed to load: {error}"
        if self.strict:
            raise StartupError(message)
        log.error("%s (skipped; set PLUMA_STRICT_PLUGINS=1 to stop instead)", message)
        self.records[name] = PluginRecord(
            name=name, distribution=dist, version=version, hooks=[], status="failed", error=error,
            default=default,
        )

    def _check_impls(self, plugin: object) -> None:
        """Refuse coroutine hook implementations and hooks that are not in the contract."""
        known = {n for n in dir(hookspecs) if n.startswith("register_")}
        for attr in dir(plugin):
            func = getattr(plugin, attr, None)
            opts = getattr(func, f"{PROJECT_NAME}_impl", None)
            if opts is None:
                continue
            hook_name = opts.get("specname") or attr
            if hook_name not in known:
                raise TypeError(f"{attr} implements unknown hook {hook_name!r}")
            if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
                raise TypeError(
                    f"hook implementation {attr} is async; hooks are synchronous registration calls "
                    "(put async work in the objects they return)"
                )

    def add(
        self,
        plugin: object,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
        default: bool = False,
    ) -> bool:
        """Register one plugin object or module under ``name``; returns whether it loaded."""
        if name in self.records:
            existing = self.records[name]
            raise StartupError(
                f"two plugins are named {name!r} (distributions {existing.distribution!r} and "
                f"{distribution!r})"
            )
        if name in self._disabled:
            self.records[name] = PluginRecord(
                name=name, distribution=distribution, version=version, hooks=[], status="disabled",
                default=default,
            )
            return False
        try:
            self._check_impls(plugin)
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(name, distribution, version, f"{type(exc).__name__}: {exc}", default)
            return False
        hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
        self.records[name] = PluginRecord(
            name=name, distribution=distribution, version=version, hooks=hooks, status="loaded",
            default=default,
        )
        return True

    def load_defaults(self) -> None:
        """Register the core's own default plugins."""
        from pluma_core import __version__

        for name, module_name in DEFAULT_PLUGINS:
            module = importlib.import_module(module_name)
            self.add(module, name, distribution="pluma", version=__version__, default=True)

    def load_entrypoints(self) -> None:
        """Load every ``pluma`` entry point, sorted by name, each in isolation."""
        points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        for point in points:
            dist = point.dist.name if point.dist else None
            version = point.dist.version if point.dist else None
            if self._only is not None and point.name not in self._only:
                self.records.setdefault(
                    point.name,
                    PluginRecord(name=point.name, distribution=dist, version=version, hooks=[],
                                 status="disabled"),
                )
                continue
            if point.name in self._disabled:
                self.records[point.name] = PluginRecord(
                    name=point.name, distribution=dist, version=version, hooks=[], status="disabled"
                )
                continue
            try:
                module: Any = point.load()
            except Exception as exc:
                self._fail(point.name, dist, version, f"{type(exc).__name__}: {exc}", False)
                continue
            self.add(module, point.name, distribution=dist, version=version)

    # -- calling -------------------------------------------------------------------------------
    def call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Call one hook plugin by plugin, yielding ``(plugin name, result)``.

        Unlike ``pm.hook.x()`` this keeps who returned what, so registries can name the owner of
        a duplicate. Order: ``tryfirst`` implementations, then the rest in registration order
        (default plugins, explicitly passed ones, entry points by name), then ``trylast``.
        A hook that raises stops start-up with the plugin's name.
        """
        caller = getattr(self.pm.hook, hook_name)
        impls = sorted(caller.get_hookimpls(), key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1)
        for impl in impls:
            try:
                result = impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except StartupError:
                raise
            except Exception as exc:
                raise StartupError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc
            if result is not None:
                yield impl.plugin_name, result

    def plugin_list(self) -> list[PluginRecord]:
        """Every plugin tried, defaults first, then by name."""
        return sorted(self.records.values(), key=lambda r: (not r.default, r.name))

    def module(self, name: str) -> ModuleType | None:
        """The registered plugin object named ``name``."""
        return self.pm.get_plugin(name)
