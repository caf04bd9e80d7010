"""``pluma auth login | whoami | logout``: a bearer token for scripts, obtained through the browser.

``login`` listens on a random 127.0.0.1 port, opens ``<base-url>/auth/cli`` in the browser (where
the signed-in user clicks "Allow"), and receives the minted token on that loopback port; it is
written to ``~/.config/pluma/cli.token`` (mode 0600) with the server URL.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import click
import httpx

from pluma_core.storage.atomic import atomic_write

LOGIN_TIMEOUT = 300.0


def token_path() -> Path:
    """``$XDG_CONFIG_HOME/pluma/cli.token``, else ``~/.config/pluma/cli.token``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "pluma" / "cli.token"


def _saved() -> dict[str, str]:
    try:
        data = json.loads(token_path().read_text("utf-8"))
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException("not logged in: run `pluma auth login --base-url URL`") from exc
    if not isinstance(data, dict) or not data.get("token") or not data.get("base_url"):
        raise click.ClickException(f"{token_path()} is damaged: run `pluma auth login` again")
    return data


def _wait_for_token(state: str, port_holder: list[int], ready: threading.Event) -> dict[str, str]:
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if urlsplit(self.path).path == "/callback" and query.get("state") == [state] and query.get("token"):
                received["token"] = query["token"][0]
                body = b"Pluma: the command line is signed in. You can close this tab."
                self.send_response(200)
            else:
                body = b"Pluma: unexpected request."
                self.send_response(400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # never print the token-bearing URL
            return

    server = HTTPServer(("127.0.0.1", 0), Callback)
    server.timeout = 1.0
    port_holder.append(server.server_address[1])
    ready.set()
    deadline = LOGIN_TIMEOUT
    try:
        while "token" not in received and deadline > 0:
            server.handle_request()
            deadline -= 1.0
    finally:
        server.server_close()
    return received


@click.group("auth")
def auth_group() -> None:
    """Sign the command line in to a Pluma server with a bearer token."""


@auth_group.command("login")
@click.option("--base-url", required=True, help="The server, e.g. http://localhost:8787")
@click.option("--token-stdin", is_flag=True, help="Read a token minted elsewhere from stdin instead.")
def login(base_url: str, token_stdin: bool) -> None:
    """Open the browser to approve, and store the token in ~/.config/pluma/cli.token (0600)."""
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise click.ClickException("--base-url must be an http(s) URL")
    if token_stdin:
        token = click.get_text_stream("stdin").readline().strip()
    else:
        state = secrets.token_urlsafe(16)
        port: list[int] = []
        ready = threading.Event()
        result: dict[str, dict[str, str]] = {}
        thread = threading.Thread(target=lambda: result.setdefault("r", _wait_for_token(state, port, ready)),
                                  daemon=True)
        thread.start()
        ready.wait(10)
        url = f"{base}/auth/cli?{urlencode({'port': port[0], 'state': state})}"
        click.echo(f"Opening {url}\nApprove the request in the browser (waiting up to 5 minutes).")
        webbrowser.open(url)
        thread.join(LOGIN_TIMEOUT + 5)
        token = result.get("r", {}).get("token", "")
    if not token:
        raise click.ClickException("no token received")
    try:
        response = httpx.get(f"{base}/api/auth/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {base}: {type(exc).__name__}") from exc
    if response.status_code != 200 or response.json().get("method") != "bearer":
        raise click.ClickException(f"the server refused the token ({response.status_code})")
    token_path().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(token_path(), json.dumps({"base_url": base, "token": token}), mode=0o600)
    click.echo(f"Signed in to {base}; token saved to {token_path()}")


@auth_group.command("whoami")
def whoami() -> None:
    """Show how the saved token authenticates."""
    saved = _saved()
    try:
        response = httpx.get(f"{saved['base_url']}/api/auth/whoami",
                             headers={"Authorization": f"Bearer {saved['token']}"}, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {saved['base_url']}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise click.ClickException(f"not signed in ({response.status_code}): run `pluma auth login`")
    info = response.json()
    click.echo(f"{saved['base_url']}: {info.get('method')} (token {info.get('token_id')})")


@auth_group.command("logout")
@click.option("--local-only", is_flag=True, help="Delete the local token even if the server cannot revoke it.")
def logout(local_only: bool) -> None:
    """Revoke the saved token on the server and delete the file.

    If the server cannot be reached the token would stay valid there, so the file is kept (to
    retry) unless ``--local-only`` is given.
    """
    saved = _saved()
    try:
        response = httpx.delete(f"{saved['base_url']}/api/auth/token",
                                headers={"Authorization": f"Bearer {saved['token']}"}, timeout=30)
        revoked = response.status_code in (204, 401)  # 401: already revoked or unknown
    except httpx.HTTPError:
        revoked = False
    if not revoked and not local_only:
        raise click.ClickException(
            f"{saved['base_url']} could not revoke the token, which stays valid there; the local "
            "token is kept. Retry when the server is up, or use --local-only to delete it anyway."
        )
    token_path().unlink(missing_ok=True)
    click.echo("Signed out." if revoked else "Local token deleted; it is still valid on the server.")
