"""docs/config.md lists every config key that the installed plugins declare."""

from __future__ import annotations

import re
from pathlib import Path

from pluma_core.app import build_plugin_host
from pluma_core.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_every_declared_key_is_documented() -> None:
    documented = set(re.findall(r"^\| `([^`]+)` \|", DOC.read_text("utf-8"), re.M))
    host = build_plugin_host(Settings(data_dir=Path("."), env={}))
    declared = set()
    for _owner, sections in host.call_each("register_config_sections"):
        for section in sections:
            for key in section.schema.__struct_fields__:
                declared.add(key if section.table is None else f"[{section.table}].{key}")
    assert declared, "no plugin declared any key"
    assert declared <= documented, f"undocumented keys: {sorted(declared - documented)}"
