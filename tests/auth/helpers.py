"""Ceremony helpers: drive the real HTTP routes with the software authenticator."""

from __future__ import annotations

from typing import Any

from pluma_core.testing.webauthn_authenticator import SoftwareAuthenticator


def enroll(client: Any, authenticator: SoftwareAuthenticator, device_name: str = "Test key",
           **create: Any) -> Any:
    """register/begin + register/finish; returns the finish response."""
    begin = client.post("/api/auth/register/begin", json={"device_name": device_name})
    assert begin.status_code == 200, begin.text
    return client.post("/api/auth/register/finish", json=authenticator.create(begin.json(), **create))


def sign_in(client: Any, authenticator: SoftwareAuthenticator, **get: Any) -> Any:
    """login/begin + login/finish; returns the finish response."""
    begin = client.post("/api/auth/login/begin")
    assert begin.status_code == 200, begin.text
    return client.post("/api/auth/login/finish", json=authenticator.get(begin.json(), **get))
