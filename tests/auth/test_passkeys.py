"""Full registration and sign-in ceremonies through the HTTP API, with the negative cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from pluma_core.testing.webauthn_authenticator import SoftwareAuthenticator, enroll, sign_in

ORIGIN = "http://localhost"


@pytest.fixture
def app(make_app: Callable[..., Litestar]) -> Litestar:
    return make_app(allowed_hosts=["*.ts.net"])


@pytest.fixture
def browser(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url=ORIGIN) as test_client:
        yield test_client


@contextmanager
def fresh(app: Litestar, base_url: str = ORIGIN) -> Iterator[TestClient[Litestar]]:
    """Another browser on the same app, without a second lifespan (that would close the db)."""
    yield TestClient(app, base_url=base_url)


def test_first_enrolment_in_grace_then_login(app: Litestar, browser: TestClient[Litestar]) -> None:
    status = browser.get("/api/auth/status").json()
    assert status["grace"] is True and status["credential_count"] == 0 and status["rp_id"] == "localhost"
    key = SoftwareAuthenticator(origin=ORIGIN)
    finished = enroll(browser, key, "Laptop")
    assert finished.status_code == 200, finished.text
    assert finished.json()["device_name"] == "Laptop"
    cookie = finished.headers["set-cookie"]
    assert cookie.startswith("pluma_sess=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and f"Max-Age={30 * 24 * 3600}" in cookie and "Secure" not in cookie
    assert browser.get("/api/auth/whoami").json()["method"] == "session"
    assert browser.get("/api/auth/status").json()["grace"] is False

    with fresh(app) as stranger:
        assert stranger.get("/api/conversations").status_code == 401
        assert stranger.get("/api/conversations").json() == {"error": "authentication required"}
        assert stranger.post("/api/auth/register/begin", json={}).status_code == 401
        assert stranger.get("/api/auth/status").status_code == 200
        signed = sign_in(stranger, key)
        assert signed.status_code == 200, signed.text
        assert stranger.get("/api/conversations").status_code == 200
        who = stranger.get("/api/auth/whoami").json()
        assert who["method"] == "session" and who["device_name"] == "Laptop"


def test_grace_is_per_rp_id(app: Litestar, browser: TestClient[Litestar]) -> None:
    assert enroll(browser, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
    with fresh(app) as local, fresh(app, "https://pluma.alice.ts.net") as tailnet:
        assert local.get("/api/conversations").status_code == 401
        assert tailnet.get("/api/conversations").status_code == 200
        assert tailnet.get("/api/auth/status").json()["rp_id"] == "alice.ts.net"
        tail_key = SoftwareAuthenticator(origin="https://pluma.alice.ts.net")
        finished = enroll(tailnet, tail_key)
        assert finished.status_code == 200, finished.text
        assert finished.headers["set-cookie"].startswith("__Host-pluma_sess=")
        assert "Secure" in finished.headers["set-cookie"]
    with fresh(app, "https://other.alice.ts.net") as sibling:
        assert sibling.get("/api/conversations").status_code == 401
        tail_key.origin = "https://other.alice.ts.net"
        assert sign_in(sibling, tail_key).status_code == 200  # one passkey for the whole tailnet
        assert sibling.get("/api/conversations").status_code == 200


def test_grace_on_tailnet_does_not_close_localhost(app: Litestar) -> None:
    with fresh(app, "https://pluma.alice.ts.net") as tailnet:
        assert enroll(tailnet, SoftwareAuthenticator(origin="https://pluma.alice.ts.net")).status_code == 200
    with fresh(app) as local:
        assert local.get("/api/conversations").status_code == 200
        assert local.get("/api/auth/whoami").json()["method"] == "grace"


def test_wrong_origin_refused(browser: TestClient[Litestar]) -> None:
    response = enroll(browser, SoftwareAuthenticator(origin="http://evil.example"))
    assert response.status_code == 400
    assert browser.get("/api/auth/status").json()["credential_count"] == 0


def test_wrong_rp_id_refused(browser: TestClient[Litestar]) -> None:
    response = enroll(browser, SoftwareAuthenticator(origin=ORIGIN, rp_id="evil.example"))
    assert response.status_code == 400
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key).status_code == 200
    assert sign_in(browser, key, rp_id="evil.example").status_code == 400
    assert sign_in(browser, key, origin="http://localhost:3000").status_code == 400


def test_replayed_challenge_refused(app: Litestar, browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN)
    begin = browser.post("/api/auth/register/begin", json={}).json()
    attestation = key.create(begin)
    assert browser.post("/api/auth/register/finish", json=attestation).status_code == 200
    replay = browser.post("/api/auth/register/finish", json=attestation)
    assert replay.status_code == 400 and "challenge" in replay.json()["error"]
    with fresh(app) as other:
        options = other.post("/api/auth/login/begin").json()
        assertion = key.get(options)
        assert other.post("/api/auth/login/finish", json=assertion).status_code == 200
    with fresh(app) as attacker:
        replayed = attacker.post("/api/auth/login/finish", json=assertion)
        assert replayed.status_code == 400
        assert "set-cookie" not in replayed.headers
        assert attacker.get("/api/conversations").status_code == 401


def test_challenge_of_one_kind_cannot_finish_the_other(browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key).status_code == 200
    login_options = browser.post("/api/auth/login/begin").json()
    fake = key.create({**login_options, "rp": {"id": "localhost"}, "user": {"id": "AAAA"}})
    assert browser.post("/api/auth/register/finish", json=fake).status_code == 400


def test_tampered_signature_refused(app: Litestar, browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key).status_code == 200
    with fresh(app) as other:
        assert sign_in(other, key, tamper=True).status_code == 400
        assert other.get("/api/conversations").status_code == 401


def test_cloned_authenticator_sign_count_backwards_refused(app: Litestar, browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN, sign_count=1)
    assert enroll(browser, key).status_code == 200
    clone = key.clone()
    for _ in range(3):
        assert sign_in(browser, key).status_code == 200
    with fresh(app) as thief:
        refused = sign_in(thief, clone)
        assert refused.status_code == 400 and "sign count" in refused.json()["error"]


@pytest.mark.parametrize("handle", ["", None])
def test_user_handle_empty_or_missing_looks_up_by_credential_id(
    app: Litestar, browser: TestClient[Litestar], handle: str | None
) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key).status_code == 200
    with fresh(app) as other:
        assert sign_in(other, key, user_handle=handle).status_code == 200


def test_foreign_user_handle_refused(app: Litestar, browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key).status_code == 200
    with fresh(app) as other:
        assert sign_in(other, key, user_handle="c29tZW9uZWVsc2U").status_code == 400


def test_backup_state_change_after_sync_is_recorded(app: Litestar, browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN, backup_eligible=True, backup_state=False)
    assert enroll(browser, key).status_code == 200
    assert browser.get("/api/auth/credentials").json()[0]["backed_up"] is False
    key.backup_state = True
    with fresh(app) as other:
        assert sign_in(other, key).status_code == 200
    assert browser.get("/api/auth/credentials").json()[0]["backed_up"] is True


def test_backup_state_without_eligibility_refused(app: Litestar, browser: TestClient[Litestar]) -> None:
    assert enroll(browser, SoftwareAuthenticator(origin=ORIGIN, backup_state=True)).status_code == 400
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key).status_code == 200
    key.backup_state = True
    with fresh(app) as other:
        assert sign_in(other, key).status_code == 400


def test_revoking_a_passkey_ends_its_sessions(app: Litestar, browser: TestClient[Litestar]) -> None:
    first, second = SoftwareAuthenticator(origin=ORIGIN), SoftwareAuthenticator(origin=ORIGIN)
    first_id = enroll(browser, first, "Phone").json()["id"]
    assert enroll(browser, second, "Laptop").status_code == 200  # enrolling more needs the session
    with fresh(app) as phone, fresh(app) as laptop:
        assert sign_in(phone, first).status_code == 200
        assert sign_in(laptop, second).status_code == 200
        assert laptop.delete(f"/api/auth/credentials/{first_id}").status_code == 204
        assert phone.get("/api/conversations").status_code == 401
        assert laptop.get("/api/conversations").status_code == 200
        assert sign_in(phone, first).status_code == 400
        assert laptop.delete("/api/auth/credentials/..%2Fetc").status_code in (400, 404)
        listed = laptop.get("/api/auth/credentials").json()
        assert [c["device_name"] for c in listed] == ["Laptop"]
        assert "public_key" not in listed[0] and "credential_id" not in listed[0]


def test_grace_visitor_cannot_manage_passkeys_of_another_rp(app: Litestar, browser: TestClient[Litestar]) -> None:
    assert enroll(browser, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
    with fresh(app, "https://pluma.alice.ts.net") as tailnet_grace:
        assert tailnet_grace.get("/api/auth/credentials").status_code == 401
        assert tailnet_grace.post("/api/auth/token", json={}).status_code == 401


def test_credentials_are_encrypted_at_rest(app: Litestar, browser: TestClient[Litestar]) -> None:
    key = SoftwareAuthenticator(origin=ORIGIN)
    assert enroll(browser, key, "Secret device name").status_code == 200
    rows = app.state["pluma"].db.query("SELECT * FROM auth_credentials")
    blob = bytes(rows[0]["data"])
    assert b"Secret device name" not in blob
    assert key.credential_id not in blob


def test_ip_hosts_cannot_use_passkeys(make_app: Callable[..., Litestar]) -> None:
    app = make_app(allowed_hosts=["192.168.1.0/24"])
    with fresh(app, "http://192.168.1.5:8787") as lan:
        status = lan.get("/api/auth/status").json()
        assert status["passkeys_supported"] is False and "bearer token" in status["hint"]
        assert lan.post("/api/auth/register/begin", json={}).status_code == 400
        assert lan.get("/api/conversations").status_code == 200  # fresh install: grace
    with fresh(app) as local:
        assert enroll(local, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
    with fresh(app, "http://192.168.1.5:8787") as lan:
        assert lan.get("/api/conversations").status_code == 401  # no endless grace on an IP


def test_require_auth_false_disables_the_gate(make_app: Callable[..., Litestar]) -> None:
    app = make_app(require_auth=False)
    with fresh(app) as local:
        assert enroll(local, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
    with fresh(app) as other:
        assert other.get("/api/conversations").status_code == 200
        assert other.get("/api/auth/whoami").json()["method"] == "disabled"


def test_non_api_paths_are_not_gated(app: Litestar, browser: TestClient[Litestar]) -> None:
    assert enroll(browser, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
    with fresh(app) as other:
        assert other.get("/").status_code == 200
        assert other.get("/auth/cli").status_code == 200


def test_pattern_admitted_names_share_one_grace_window(make_app: Callable[..., Litestar]) -> None:
    """QA finding: ``Host: pwn.localhost`` opened a fresh grace window after ``localhost`` paired,
    so a stranger could enrol their own passkey and mint a token. Names admitted by one pattern
    (all loopback names; one ``*.suffix`` entry) now share one window."""
    app = make_app(allowed_hosts=["*.example.org", "exact.example.net"])
    with fresh(app) as local:
        assert enroll(local, SoftwareAuthenticator(origin=ORIGIN)).status_code == 200
    for host in ("http://pwn.localhost", "http://a.b.localhost", "http://localhost.localdomain"):
        with fresh(app, host) as stranger:
            assert stranger.get("/api/conversations").status_code == 401, host
            assert stranger.post("/api/auth/register/begin", json={}).status_code == 401, host
    with fresh(app, "https://one.example.org") as first:
        assert first.get("/api/conversations").status_code == 200  # nothing enrolled under the pattern yet
        assert enroll(first, SoftwareAuthenticator(origin="https://one.example.org")).status_code == 200
    with fresh(app, "https://two.example.org") as sibling:
        assert sibling.get("/api/conversations").status_code == 401
    with fresh(app, "https://exact.example.net") as named:  # an exactly named host keeps its own window
        assert named.get("/api/conversations").status_code == 200
