"""Where Pluma keeps its files: flag > PLUMA_DATA_DIR > $XDG_CONFIG_HOME/pluma > ~/.config/pluma."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def resolve_data_dir(flag: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None) -> Path:
    """Pick the data dir by the documented precedence."""
    env = os.environ if env is None else env
    if flag:
        return Path(flag).expanduser()
    if env.get("PLUMA_DATA_DIR"):
        return Path(env["PLUMA_DATA_DIR"]).expanduser()
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]).expanduser() / "pluma"
    return Path.home() / ".config" / "pluma"


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the keyring fallback lives: outside the data dir, so a data-dir backup holds no key."""
    env = os.environ if env is None else env
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]).expanduser() / "pluma"
    return Path.home() / ".local" / "state" / "pluma"


def ensure_data_dir(path: Path) -> Path:
    """Create the data dir (0700) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
