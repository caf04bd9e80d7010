"""The atomic-write helper every file write goes through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pluma_core.errors import BadRequest
from pluma_core.ids import is_valid_id, validate_id
from pluma_core.storage.atomic import atomic_write


def test_atomic_write_replaces_with_private_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["file.json"]


def test_failed_write_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "file.txt"
    atomic_write(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


@pytest.mark.parametrize("bad", ["", "..", "a/b", "a\\b", "a.b", "%2e%2e", "é", "x" * 65, "a b", "a\x00"])
def test_ids_that_could_reach_a_path_are_refused(bad: str) -> None:
    assert not is_valid_id(bad)
    with pytest.raises(BadRequest):
        validate_id(bad)


def test_good_ids_pass() -> None:
    for good in ("a", "A-b_9", "x" * 64, "0123abcd"):
        assert validate_id(good) == good
