"""The ``auth`` default plugin: config keys, tables, the gate middleware, routes and CLI."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.auth.cli import auth_group
from pluma_core.auth.config import AuthConfig
from pluma_core.auth.gate import AuthGateMiddleware
from pluma_core.auth.routes import AuthController, cli_page, cli_script
from pluma_core.auth.store import MIGRATIONS
from pluma_core.registry_types import ConfigSection, MiddlewareOrder, MiddlewareSpec, Migrations


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``require_auth`` and ``loopback_auth_bypass``."""
    return [ConfigSection(schema=AuthConfig)]


@hookimpl
def register_migrations() -> list[Migrations]:
    """``auth_credentials`` and ``auth_tokens``."""
    return [MIGRATIONS]


@hookimpl
def register_middleware(pluma: Any) -> list[MiddlewareSpec]:
    """The auth gate in its fixed slot."""
    return [MiddlewareSpec("auth", MiddlewareOrder.AUTH, AuthGateMiddleware)]


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """``/api/auth/*`` and the ``/auth/cli`` page used by ``pluma auth login``."""
    return [AuthController, cli_page, cli_script]


@hookimpl
def register_commands(cli: Any) -> None:
    """``pluma auth login | logout | whoami``."""
    cli.add_command(auth_group)
