"""Resized avatars cached on disk, keyed by the source file's size and modification time."""

from __future__ import annotations

import contextlib
from pathlib import Path

from pluma_core.cards.images import clamp_width, resized
from pluma_core.storage.atomic import atomic_write


class AvatarCache:
    """``cache_dir/<scope>/<id>/<width>-<mtime_ns>-<size>.png``; stale variants are pruned."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def get(self, scope: str, item_id: str, source: Path, width: int) -> tuple[bytes, bool]:
        """The resized image and whether it came from the cache. ``item_id`` must be validated."""
        width = clamp_width(width)
        stat = source.stat()
        folder = self.cache_dir / scope / item_id
        target = folder / f"{width}-{stat.st_mtime_ns}-{stat.st_size}.png"
        with contextlib.suppress(FileNotFoundError):
            return target.read_bytes(), True
        data = resized(source.read_bytes(), width)
        if folder.exists():
            for old in folder.glob(f"{width}-*.png"):
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
        atomic_write(target, data, mode=0o600)
        return data, False

    def drop(self, scope: str, item_id: str) -> None:
        """Forget every cached size of one item (it was deleted)."""
        folder = self.cache_dir / scope / item_id
        if folder.is_dir():
            for old in folder.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()
