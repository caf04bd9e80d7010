"""Suite-wide fixtures. Pluma's own fixtures come from the ``pluma_core.testing`` pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pluma_core.testing import MemoryKeyring

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "real"


@pytest.fixture(autouse=True)
def _never_the_real_keyring(memory_keyring: MemoryKeyring) -> Iterator[None]:
    """No test may read or write the developer's OS keyring or the fallback key file."""
    yield


@pytest.fixture
def real_fixtures() -> Path:
    """``../shared/fixtures/real`` (AGPL data, never copied here); skips when absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/real is not present (a user's own clone)")
    return SHARED_FIXTURES
