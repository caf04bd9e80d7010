"""``config.toml`` (comments kept by tomlkit) + ``PLUMA_*`` environment + command-line flags.

Plugins declare their keys with ``register_config_sections``; each declaration is a msgspec
Struct whose defaults are the built-in defaults. Precedence: flag > env > file > default.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
import tomlkit
from tomlkit.exceptions import TOMLKitError

from pluma_core.errors import BadRequest, StartupError
from pluma_core.registry_types import ConfigSection
from pluma_core.storage.atomic import atomic_write

S = TypeVar("S", bound=msgspec.Struct)

CONFIG_FILE = "config.toml"
_HEADER = """\
# Pluma configuration: plain text, never secrets (API keys live in the OS keyring).
# Precedence: command-line flag > PLUMA_* environment variable > this file > built-in default.
# Pluma rewrites this file when you change settings in the app; your comments are kept.
"""


class ServerKeys(msgspec.Struct, kw_only=True):
    """Where the main listener binds."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8787


@dataclass
class Settings:
    """What the command line hands to ``create_app``: the data dir and explicit overrides.

    ``overrides`` maps a top-level key (``"port"``) or ``"table.key"`` to a flag value.
    """

    data_dir: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class _Owned:
    section: ConfigSection
    owner: str


def _env_name(table: str | None, key: str) -> str:
    return ("PLUMA_" + (f"{table}_" if table else "") + key).upper()


def _env_value(raw: str) -> Any:
    text = raw.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return raw


class Config:
    """Validated, typed configuration. ``get(Schema)`` returns that plugin's Struct."""

    def __init__(self, path: Path, sections: list[tuple[ConfigSection, str]], settings: Settings) -> None:
        self.path = path
        self._settings = settings
        self._lock = threading.Lock()
        self._by_schema: dict[type[msgspec.Struct], _Owned] = {}
        self._top_keys: dict[str, _Owned] = {}
        self._tables: dict[str, _Owned] = {}
        for section, owner in sections:
            self._declare(section, owner)
        self._doc = self._load_document()
        self._values: dict[type[msgspec.Struct], msgspec.Struct] = {}
        self._file_values: dict[type[msgspec.Struct], dict[str, Any]] = {}
        self._check_unknown()
        self._rebuild()

    # -- declaration -------------------------------------------------------------------------
    def _declare(self, section: ConfigSection, owner: str) -> None:
        if section.schema in self._by_schema:
            raise StartupError(f"config schema {section.schema.__name__} declared twice (plugin {owner!r})")
        owned = _Owned(section, owner)
        if section.table is None:
            for key in section.schema.__struct_fields__:
                if key in self._top_keys:
                    raise StartupError(
                        f"duplicate config key {key!r}: declared by plugin {self._top_keys[key].owner!r} "
                        f"and again by plugin {owner!r}"
                    )
                if key in self._tables:
                    raise StartupError(f"config key {key!r} of plugin {owner!r} clashes with a table")
                self._top_keys[key] = owned
        else:
            if section.table in self._tables or section.table in self._top_keys:
                first = (self._tables.get(section.table) or self._top_keys[section.table]).owner
                raise StartupError(
                    f"duplicate config table [{section.table}]: declared by plugin {first!r} "
                    f"and again by plugin {owner!r}"
                )
            self._tables[section.table] = owned
        self._by_schema[section.schema] = owned

    # -- loading -----------------------------------------------------------------------------
    def _load_document(self) -> tomlkit.TOMLDocument:
        if not self.path.exists():
            return tomlkit.parse(_HEADER)
        try:
            return tomlkit.parse(self.path.read_text("utf-8"))
        except (TOMLKitError, UnicodeDecodeError) as exc:
            raise StartupError(f"{self.path}: not valid TOML: {exc}") from exc

    def _check_unknown(self) -> None:
        for key, value in self._doc.items():
            if key in self._top_keys:
                continue
            if key in self._tables:
                if not isinstance(value, Mapping):
                    raise StartupError(f"{self.path}: [{key}] must be a table")
                fields = self._tables[key].section.schema.__struct_fields__
                for sub in value:
                    if sub not in fields:
                        raise StartupError(f"{self.path}: unknown key {sub!r} in table [{key}]")
                continue
            raise StartupError(
                f"{self.path}: unknown key {key!r} at the top level (no installed plugin declares it)"
            )

    def _layer(self, owned: _Owned) -> dict[str, Any]:
        """File values with env and flag overrides applied, for one schema."""
        section = owned.section
        schema = section.schema
        if section.table is None:
            source: Mapping[str, Any] = self._doc
        else:
            source = self._doc.get(section.table) or {}
        merged: dict[str, Any] = {}
        for key in schema.__struct_fields__:
            if key in source:
                merged[key] = _plain(source[key])
        self._file_values[schema] = dict(merged)
        for key in schema.__struct_fields__:
            env_key = _env_name(section.table, key)
            if env_key in self._settings.env:
                merged[key] = _env_value(self._settings.env[env_key])
            flag_key = key if section.table is None else f"{section.table}.{key}"
            if flag_key in self._settings.overrides and self._settings.overrides[flag_key] is not None:
                merged[key] = self._settings.overrides[flag_key]
        return merged

    def _rebuild(self) -> None:
        values: dict[type[msgspec.Struct], msgspec.Struct] = {}
        for schema, owned in self._by_schema.items():
            raw = self._layer(owned)
            try:
                # The file is typed TOML: check it strictly, so `require_auth = "false"` or
                # `= 0` is an error instead of quietly switching the gate off. Only flags and
                # environment variables (always strings) get lenient conversion below.
                msgspec.convert(self._file_values[schema], schema, strict=True)
            except msgspec.ValidationError as exc:
                where = f"table [{owned.section.table}]" if owned.section.table else "the top level"
                raise StartupError(f"{self.path}: invalid value in {where}: {exc}") from exc
            try:
                values[schema] = msgspec.convert(raw, schema, strict=False)
            except msgspec.ValidationError as exc:
                raise StartupError(self._blame(owned, exc)) from exc
        self._values = values

    def _blame(self, owned: _Owned, exc: msgspec.ValidationError) -> str:
        """Name where the bad value came from: a flag, an environment variable, or the file."""
        table = owned.section.table
        for key in owned.section.schema.__struct_fields__:
            if f"$.{key}" not in str(exc):
                continue
            flag_key = key if table is None else f"{table}.{key}"
            if self._settings.overrides.get(flag_key) is not None:
                return f"invalid value for --{key.replace('_', '-')}: {exc}"
            if _env_name(table, key) in self._settings.env:
                return f"invalid value in environment variable {_env_name(table, key)}: {exc}"
        where = f"table [{table}]" if table else "the top level"
        return f"{self.path}: invalid value in {where}: {exc}"

    # -- access ------------------------------------------------------------------------------
    def get(self, schema: type[S]) -> S:
        """The effective values for ``schema`` (flag > env > file > default)."""
        try:
            return self._values[schema]  # type: ignore[return-value]
        except KeyError:
            raise KeyError(f"config schema {schema.__name__} is not declared by any loaded plugin") from None

    def update(self, schema: type[S], **changes: Any) -> S:
        """Validate ``changes`` and write them to ``config.toml`` keeping comments.

        Raises ``BadRequest`` for an unknown key or a value of the wrong type.
        """
        with self._lock:
            owned = self._by_schema[schema]
            fields = schema.__struct_fields__
            for key in changes:
                if key not in fields:
                    raise BadRequest(f"unknown setting {key!r}")
            # Start from the file as it is now, so edits made by hand while the server runs
            # are kept (and take effect) rather than overwritten from memory.
            try:
                self._doc = self._load_document()
                self._check_unknown()
                self._rebuild()
            except StartupError as exc:
                raise BadRequest(f"config.toml was edited and cannot be used: {exc}") from exc
            current = self._file_values.get(schema, {})
            if all(key in current and current[key] == value for key, value in changes.items()):
                return self.get(schema)
            candidate = {**current, **changes}
            try:
                msgspec.convert(candidate, schema, strict=True)
            except msgspec.ValidationError as exc:
                raise BadRequest(f"invalid setting: {exc}") from exc
            if owned.section.table is None:
                target: Any = self._doc
            else:
                if owned.section.table not in self._doc:
                    self._doc.add(owned.section.table, tomlkit.table())
                target = self._doc[owned.section.table]
            for key, value in changes.items():
                target[key] = value
            self.save()
            self._rebuild()
            return self.get(schema)

    def save(self) -> None:
        """Write the document atomically (0600: it is the user's file, even without secrets)."""
        atomic_write(self.path, tomlkit.dumps(self._doc), mode=0o600)

    def write_if_missing(self) -> None:
        """Create ``config.toml`` with its header on first start."""
        if not self.path.exists():
            self.save()

    def env_overridden(self, schema: type[msgspec.Struct], key: str) -> bool:
        """True when a flag or ``PLUMA_*`` variable pins ``key`` (file edits will not show)."""
        owned = self._by_schema[schema]
        flag_key = key if owned.section.table is None else f"{owned.section.table}.{key}"
        return (
            _env_name(owned.section.table, key) in self._settings.env
            or self._settings.overrides.get(flag_key) is not None
        )


def _plain(value: Any) -> Any:
    """tomlkit items -> plain Python values for msgspec."""
    if hasattr(value, "unwrap"):
        return value.unwrap()
    return value
