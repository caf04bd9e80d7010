"""Every route of the binding route table whose owner is installed is served, with its method."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

ROUTE_TABLE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "api-routes.md"


def _table() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    owner = ""
    for line in ROUTE_TABLE.read_text("utf-8").splitlines():
        heading = re.match(r"## .* — owner: (\S+)", line)
        if heading:
            owner = heading.group(1)
            continue
        row = re.match(r"\| (GET|POST|PUT|PATCH|DELETE) \| (/api/[^?\s|]+)", line)
        if row:
            rows.append((owner, row.group(1), row.group(2)))
    return rows


def _installed(owner: str) -> bool:
    if owner == "core":
        return True
    try:
        importlib.metadata.distribution(owner)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_installed_owners_serve_every_route_in_the_table(make_app) -> None:
    if not ROUTE_TABLE.is_file():
        pytest.skip("../shared/spec/api-routes.md is not present (a user's own clone)")
    app = make_app(load_entrypoints=True)
    served = {
        (method, _shape(route.path))
        for route in app.routes
        for method in getattr(route, "methods", ())
        if not route.path.startswith("/{")  # the browser app's catch-all
    }
    rows = [row for row in _table() if _installed(row[0])]
    assert len(rows) >= 40
    missing = [f"{method} {path} ({owner})" for owner, method, path in rows if (method, _shape(path)) not in served]
    assert not missing, f"routes in the table but not served: {missing}"
