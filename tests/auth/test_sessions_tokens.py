"""Session cookies, bearer tokens, the loopback bypass over a real socket, and the CLI."""

from __future__ import annotations

import json
import stat
import time
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient

from pluma_core.auth.service import auth_service
from pluma_core.auth.sessions import Session
from pluma_core.testing import serve_asgi
from pluma_core.testing.webauthn_authenticator import SoftwareAuthenticator, enroll, sign_in

ORIGIN = "http://localhost"


@pytest.fixture
def app(make_app: Callable[..., Litestar]) -> Litestar:
    return make_app()


@pytest.fixture
def browser(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url=ORIGIN) as test_client:
        assert enroll(test_client, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
        yield test_client


def test_session_key_file_is_private(app: Litestar, browser: TestClient[Litestar]) -> None:
    path = app.state["pluma"].data_dir / "session-key"
    assert len(path.read_bytes()) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_tampered_or_foreign_cookie_refused(app: Litestar, browser: TestClient[Litestar]) -> None:
    value = browser.cookies["pluma_sess"]
    body, mac = value.split(".")
    stranger = TestClient(app, base_url=ORIGIN)
    stranger.cookies.set("pluma_sess", body + "." + mac[::-1])
    assert stranger.get("/api/conversations").status_code == 401
    forged = auth_service(app.state["pluma"]).signer
    cid = browser.get("/api/auth/whoami").json()["credential_id"]
    other_rp = forged.sign(Session(cid=cid, rp="evil.example", iat=time.time(), seen=time.time()))
    stranger.cookies.set("pluma_sess", other_rp)
    assert stranger.get("/api/conversations").status_code == 401


def test_sliding_expiry(app: Litestar, browser: TestClient[Litestar]) -> None:
    signer = auth_service(app.state["pluma"]).signer
    cid = browser.get("/api/auth/whoami").json()["credential_id"]
    now = time.time()
    client = TestClient(app, base_url=ORIGIN)
    client.cookies.set("pluma_sess", signer.sign(Session(cid=cid, rp="localhost", iat=now - 7200, seen=now - 7200)))
    refreshed = client.get("/api/conversations")
    assert refreshed.status_code == 200
    new_value = refreshed.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert signer.verify(new_value, "localhost").seen > now - 60  # type: ignore[union-attr]
    fresh_cookie = signer.sign(Session(cid=cid, rp="localhost", iat=now, seen=now))
    client.cookies.set("pluma_sess", fresh_cookie)
    assert "set-cookie" not in client.get("/api/conversations").headers
    stale = signer.sign(Session(cid=cid, rp="localhost", iat=now - 40 * 86400, seen=now - 31 * 86400))
    client.cookies.set("pluma_sess", stale)
    assert client.get("/api/conversations").status_code == 401


def test_logout_clears_the_cookie(browser: TestClient[Litestar]) -> None:
    response = browser.post("/api/auth/logout")
    assert response.status_code == 204
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert browser.get("/api/conversations").status_code == 401


def test_bearer_tokens(app: Litestar, browser: TestClient[Litestar]) -> None:
    minted = browser.post("/api/auth/token", json={"label": "script"})
    assert minted.status_code == 200
    token = minted.json()["token"]
    assert token.startswith("pluma_")
    rows = app.state["pluma"].db.query("SELECT * FROM auth_tokens")
    assert token not in json.dumps([dict(r) for r in rows])
    script = TestClient(app, base_url=ORIGIN)
    assert script.get("/api/conversations", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert script.get(f"/api/conversations?api_token={token}").status_code == 200
    who = script.get("/api/auth/whoami", headers={"Authorization": f"Bearer {token}"}).json()
    assert who["method"] == "bearer"
    listed = browser.get("/api/auth/tokens").json()
    assert [t["label"] for t in listed] == ["script"] and "token" not in listed[0]
    assert script.post("/api/auth/token", json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert script.delete("/api/auth/token", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    revoked = script.get("/api/conversations", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401 and revoked.json() == {"error": "invalid or revoked token"}
    assert script.get("/api/conversations", headers={"Authorization": "Bearer pluma_guess"}).status_code == 401


def test_a_token_cannot_manage_passkeys_or_tokens(app: Litestar, browser: TestClient[Litestar]) -> None:
    """QA finding: a bearer token enrolled a passkey of its own, signed in with it and minted more
    tokens; it could also list and revoke the owner's passkeys."""
    token = browser.post("/api/auth/token", json={"label": "script"}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    script = TestClient(app, base_url=ORIGIN)
    assert script.post("/api/auth/register/begin", json={}, headers=bearer).status_code == 401
    assert script.post("/api/auth/register/finish", json={}, headers=bearer).status_code == 401
    assert script.get("/api/auth/credentials", headers=bearer).status_code == 401
    owner_key = browser.get("/api/auth/credentials").json()[0]["id"]
    assert script.delete(f"/api/auth/credentials/{owner_key}", headers=bearer).status_code == 401
    assert script.get("/api/auth/tokens", headers=bearer).status_code == 401
    assert len(browser.get("/api/auth/credentials").json()) == 1
    assert script.get("/api/conversations", headers=bearer).status_code == 200  # still does its job


def test_token_can_be_revoked_by_id(app: Litestar, browser: TestClient[Litestar]) -> None:
    minted = browser.post("/api/auth/token", json={}).json()
    assert browser.delete(f"/api/auth/tokens/{minted['id']}").status_code == 204
    script = TestClient(app, base_url=ORIGIN)
    assert script.get("/api/conversations", headers={"Authorization": f"Bearer {minted['token']}"}).status_code == 401


def test_spoofed_forwarded_for_gets_no_loopback_bypass(app: Litestar, browser: TestClient[Litestar]) -> None:
    attacker = TestClient(app, base_url=ORIGIN)
    response = attacker.get("/api/conversations", headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 401


def _enroll_over_socket(base: str, host: str) -> None:
    port = base.rsplit(":", 1)[1]
    origin = f"http://{host}:{port}"
    with httpx.Client(base_url=base, headers={"Host": f"{host}:{port}"}) as http:
        assert enroll(http, SoftwareAuthenticator(origin=origin)).status_code == 200


def test_loopback_bypass_keys_on_peer_and_host(make_app: Callable[..., Litestar]) -> None:
    app = make_app(allowed_hosts=["pluma.example"])
    with serve_asgi(app, proxy_headers=False) as base:
        _enroll_over_socket(base, "localhost")
        _enroll_over_socket(base, "pluma.example")
        port = base.rsplit(":", 1)[1]
        local = httpx.get(f"{base}/api/auth/whoami", headers={"Host": f"localhost:{port}"})
        assert local.status_code == 200 and local.json()["method"] == "loopback"
        by_ip = httpx.get(f"{base}/api/conversations", headers={"Host": f"127.0.0.1:{port}"})
        assert by_ip.status_code == 200
        # DNS rebinding: a page on pluma.example / evil.example resolved to 127.0.0.1.
        rebound = httpx.get(f"{base}/api/conversations", headers={"Host": f"pluma.example:{port}"})
        assert rebound.status_code == 401
        evil = httpx.get(f"{base}/api/conversations", headers={"Host": f"evil.example:{port}"})
        assert evil.status_code == 403 and evil.json() == {"error": "host not allowed"}


def test_loopback_bypass_can_be_switched_off(make_app: Callable[..., Litestar]) -> None:
    app = make_app(loopback_auth_bypass=False)
    with serve_asgi(app, proxy_headers=False) as base:
        _enroll_over_socket(base, "localhost")
        port = base.rsplit(":", 1)[1]
        assert httpx.get(f"{base}/api/conversations", headers={"Host": f"localhost:{port}"}).status_code == 401


def test_cli_login_whoami_logout(
    make_app: Callable[..., Litestar], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pluma_core.cli import build_cli

    cli_main = build_cli()
    app = make_app(loopback_auth_bypass=False)
    config_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    with serve_asgi(app, proxy_headers=False) as base:
        port = base.rsplit(":", 1)[1]
        origin = f"http://localhost:{port}"
        key = SoftwareAuthenticator(origin=origin)
        with httpx.Client(base_url=origin) as first:
            assert enroll(first, key).status_code == 200
        opened: list[str] = []

        def the_browser(url: str, *args: Any, **kwargs: Any) -> bool:
            """What the user's browser does on /auth/cli: sign in, press Allow, follow the redirect."""
            opened.append(url)
            parts = urlsplit(url)
            with httpx.Client(base_url=origin) as tab:
                page = tab.get(f"{parts.path}?{parts.query}")
                assert page.status_code == 200 and "/auth/cli.js" in page.text
                assert tab.post("/api/auth/token", json={"label": "cli"}).status_code == 401
                assert sign_in(tab, key).status_code == 200
                token = tab.post("/api/auth/token", json={"label": "cli"}, headers={"Origin": origin}).json()["token"]
            query = parse_qs(parts.query)
            callback = httpx.get(f"http://127.0.0.1:{query['port'][0]}/callback",
                                 params={"state": query["state"][0], "token": token})
            assert callback.status_code == 200
            return True

        monkeypatch.setattr(webbrowser, "open", the_browser)
        runner = CliRunner()
        result = runner.invoke(cli_main, ["auth", "login", "--base-url", origin])
        assert result.exit_code == 0, result.output
        assert opened and opened[0].startswith(f"{origin}/auth/cli?")
        token_file = config_home / "pluma" / "cli.token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        saved = json.loads(token_file.read_text())
        assert saved["base_url"] == origin and saved["token"].startswith("pluma_")
        assert saved["token"] not in result.output

        who = runner.invoke(cli_main, ["auth", "whoami"])
        assert who.exit_code == 0 and "bearer" in who.output, who.output
        out = runner.invoke(cli_main, ["auth", "logout"])
        assert out.exit_code == 0, out.output
        assert not token_file.exists()
        gone = httpx.get(f"{origin}/api/conversations", headers={"Authorization": f"Bearer {saved['token']}"})
        assert gone.status_code == 401
        assert runner.invoke(cli_main, ["auth", "whoami"]).exit_code != 0

    # QA finding: logout against an unreachable server deleted the file but left the token valid.
    token_file.write_text(json.dumps({"base_url": "http://127.0.0.1:9", "token": "pluma_still_valid"}))
    out = runner.invoke(cli_main, ["auth", "logout"])
    assert out.exit_code != 0 and "stays valid" in out.output and token_file.exists()
    out = runner.invoke(cli_main, ["auth", "logout", "--local-only"])
    assert out.exit_code == 0 and "still valid on the server" in out.output and not token_file.exists()
