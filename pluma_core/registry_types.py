"""Value types that hooks return, and the registry that refuses duplicates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from pluma_core.errors import NotConfigured, StartupError

if TYPE_CHECKING:
    from litestar.middleware import ASGIMiddleware

    from pluma_core.facade import Pluma

T = TypeVar("T")

LifespanFactory = Callable[[], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class ConfigSection:
    """Configuration a plugin owns: top-level keys (``table=None``) or one ``[table]``."""

    schema: type[msgspec.Struct]
    table: str | None = None


@dataclass(frozen=True)
class Migrations:
    """Ordered SQL steps for one namespace of tables in ``pluma.db``."""

    namespace: str
    steps: list[str]


class MiddlewareOrder(IntEnum):
    """Fixed slots of the core chain, outermost first. Plugins may use numbers in between."""

    TRUSTED_PROXIES = 100
    ACCESS_LOG = 200
    NO_STORE = 300
    AUTH = 400
    HOST_ALLOWLIST = 500
    CORS = 600


@dataclass(frozen=True)
class MiddlewareSpec:
    """One middleware: ``factory(pluma)`` builds the ASGIMiddleware instance."""

    name: str
    order: int
    factory: Callable[[Pluma], ASGIMiddleware]
    # The tailnet listener runs the chain without the host allowlist.
    tailnet: bool = True


@dataclass(frozen=True)
class HealthCheck:
    """A named async check merged into ``GET /api/health``."""

    name: str
    check: Callable[[], Awaitable[dict[str, Any]]]
    timeout: float = 3.0


@dataclass
class Registry(Generic[T]):
    """Named values contributed by plugins; a second registration of a name fails loudly."""

    kind: str
    _items: dict[str, T] = field(default_factory=dict)
    _owners: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: T, owner: str) -> None:
        """Register ``value`` under ``name`` for plugin ``owner``."""
        if name in self._items:
            raise StartupError(
                f"duplicate {self.kind} {name!r}: registered by plugin {self._owners[name]!r} "
                f"and again by plugin {owner!r}"
            )
        self._items[name] = value
        self._owners[name] = owner

    def get(self, name: str) -> T | None:
        """The value registered under ``name``, or ``None``."""
        return self._items.get(name)

    def require(self, name: str) -> T:
        """The value registered under ``name``; a 503 naming it when no plugin provides it."""
        if name not in self._items:
            raise NotConfigured(f"no {self.kind} {name!r}: the plugin that provides it is not loaded")
        return self._items[name]

    def owner(self, name: str) -> str | None:
        """Which plugin registered ``name``."""
        return self._owners.get(name)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
