"""The ``pluma`` command: ``serve`` (the default), ``plugins``, storage-key backup, plugin commands."""

from __future__ import annotations

import base64
import getpass
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from pluma_core import __version__
from pluma_core.config import Settings
from pluma_core.errors import StartupError
from pluma_core.storage.atomic import atomic_write
from pluma_core.storage.crypto import STORAGE_KEY_NAME
from pluma_core.storage.datadir import resolve_data_dir, state_dir
from pluma_core.storage.keyexport import KeyFileError, unwrap_key, wrap_key
from pluma_core.storage.secrets import open_secret_store

log = logging.getLogger("pluma")


def configure_logging(level: int = logging.INFO) -> None:
    """Diagnostics to stderr; quiet the libraries that would log URLs."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


MIN_PASSPHRASE = 8


def _passphrase(confirm: bool) -> str:
    """From ``PLUMA_KEY_PASSPHRASE`` (scripts) or a terminal prompt.

    A new export needs at least 8 characters: the file may sit beside the data-dir backup, and
    the passphrase is all that stands between it and the conversations.
    """
    chosen = os.environ.get("PLUMA_KEY_PASSPHRASE")
    if not chosen:
        chosen = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Repeat passphrase: ") != chosen:
            raise click.ClickException("the passphrases differ")
    if not chosen:
        raise click.ClickException("the passphrase must not be empty")
    if confirm and len(chosen) < MIN_PASSPHRASE:
        raise click.ClickException(f"use a passphrase of at least {MIN_PASSPHRASE} characters")
    return chosen


def _settings(data_dir: str | None, **overrides: Any) -> Settings:
    chosen = {k: v for k, v in overrides.items() if v is not None}
    return Settings(data_dir=resolve_data_dir(data_dir), overrides=chosen)


def serve(settings: Settings) -> None:
    """Build the app and run uvicorn until SIGINT/SIGTERM (in-flight requests finish first)."""
    import uvicorn

    from pluma_core.app import create_app
    from pluma_core.config import ServerKeys

    # Everything Pluma writes (database, WAL, cards, keys) is private to the user running it.
    os.umask(0o077)
    try:
        app = create_app(settings)
    except StartupError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(
            f"cannot use the data dir {settings.data_dir}: {exc.strerror or exc}"
        ) from exc
    pluma = app.state["pluma"]
    server_keys = pluma.config.get(ServerKeys)
    log.info("Pluma %s: data dir %s, listening on http://%s:%d", __version__, settings.data_dir,
             server_keys.host, server_keys.port)
    config = uvicorn.Config(
        app,
        host=server_keys.host,
        port=server_keys.port,
        access_log=False,  # our access-log middleware redacts ids and never logs query strings
        log_config=None,
        timeout_graceful_shutdown=10,
        lifespan="on",
        proxy_headers=False,  # the trusted-proxies middleware applies our own rule
    )
    uvicorn.Server(config).run()


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="pluma")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default: ~/.config/pluma).")
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8787).")
@click.option("--base-url", default=None, help="Fallback LLM server, used while no connection exists.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, host: str | None, port: int | None, base_url: str | None) -> None:
    """Pluma, a self-hosted AI chat server. With no command, serves."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    if ctx.invoked_subcommand is None:
        configure_logging()
        serve(_settings(data_dir, host=host, port=port, base_url=base_url))


@cli.command("serve")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data directory.")
@click.option("--host", default=None, help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default 8787).")
@click.option("--base-url", default=None, help="Fallback LLM server, used while no connection exists.")
@click.pass_context
def serve_command(ctx: click.Context, data_dir: str | None, host: str | None, port: int | None,
                  base_url: str | None) -> None:
    """Start the server."""
    configure_logging()
    serve(_settings(data_dir or ctx.obj.get("data_dir"), host=host, port=port, base_url=base_url))


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_command(as_json: bool) -> None:
    """List plugins: name, distribution, version, hooks, status."""
    from pluma_core.app import build_plugin_host

    host = build_plugin_host(Settings(data_dir=Path(".")))
    records = host.plugin_list()
    if as_json:
        click.echo(msgspec.json.encode(records).decode())
        return
    for record in records:
        origin = f"{record.distribution or '?'} {record.version or ''}".strip()
        line = f"{record.name:<16} {record.status:<9} {origin:<24} {', '.join(record.hooks)}"
        if record.error:
            line += f"\n{'':<16} error: {record.error}"
        click.echo(line)


@cli.command("export-storage-key")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def export_storage_key(file: str, force: bool) -> None:
    """Write the storage key, wrapped with a passphrase, to FILE (for backups)."""
    if Path(file).exists() and not force:
        raise click.ClickException(f"{file} exists; use --force to overwrite it")
    secrets = open_secret_store(state_dir())
    stored = secrets.get(STORAGE_KEY_NAME)
    if not stored:
        raise click.ClickException(f"no storage key in {secrets.description}; start Pluma once first")
    blob = wrap_key(base64.b64decode(stored), _passphrase(confirm=True))
    atomic_write(Path(file), blob, mode=0o600)
    click.echo(f"storage key written to {file}; keep it apart from your data-dir backup")


@cli.command("import-storage-key")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a different key already stored.")
def import_storage_key(file: str, force: bool) -> None:
    """Read a key written by export-storage-key into the keyring."""
    try:
        key = unwrap_key(Path(file).read_bytes(), _passphrase(confirm=False))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    secrets = open_secret_store(state_dir())
    encoded = base64.b64encode(key).decode("ascii")
    current = secrets.get(STORAGE_KEY_NAME)
    if current and current != encoded and not force:
        raise click.ClickException(
            "a different storage key is already stored; data encrypted with it would become unreadable. "
            "Export it first, then use --force."
        )
    secrets.set(STORAGE_KEY_NAME, encoded)
    click.echo(f"storage key imported into {secrets.description}")


def build_cli() -> click.Group:
    """The command group with every plugin's ``register_commands`` applied."""
    from pluma_core.app import build_plugin_host

    try:
        host = build_plugin_host(Settings(data_dir=Path(".")))
    except StartupError as exc:
        click.echo(f"warning: {exc}", err=True)
        return cli
    for _ in host.call_each("register_commands", cli=cli):
        pass
    return cli


def main() -> None:
    """Console-script entry point."""
    build_cli()(obj={})
