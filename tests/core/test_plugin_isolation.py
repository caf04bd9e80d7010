"""A plugin never imports another plugin: distributions in plugins/ use only the core's shared
modules, never another plugin's package nor a default plugin's package."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
DEFAULT_PLUGIN_PACKAGES = {
    "pluma_core.attachments", "pluma_core.auth", "pluma_core.characters", "pluma_core.conversations",
    "pluma_core.personas", "pluma_core.prompt", "pluma_core.security", "pluma_core.setup",
    "pluma_core.core_plugin",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_plugin_imports_another_plugin() -> None:
    packages = {p.name for p in PLUGINS.iterdir() if (p / p.name).is_dir()}
    assert "pluma_llm" in packages
    offences = []
    for package in sorted(packages):
        for source in (PLUGINS / package / package).rglob("*.py"):
            for module in _imports(source):
                root = module.split(".")[0]
                if root in packages and root != package:
                    offences.append(f"{source.relative_to(PLUGINS)} imports {module}")
                if any(module == d or module.startswith(d + ".") for d in DEFAULT_PLUGIN_PACKAGES):
                    offences.append(f"{source.relative_to(PLUGINS)} imports default plugin module {module}")
    assert not offences, offences
