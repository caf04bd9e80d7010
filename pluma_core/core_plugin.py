"""The host's own default plugin: listener settings, the plugin list and the browser app."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.params import FromPath
from litestar.response import File

from pluma_core import hookimpl
from pluma_core.config import ServerKeys
from pluma_core.errors import NotFound
from pluma_core.facade import PlumaDep
from pluma_core.plugins import PluginRecord
from pluma_core.registry_types import ConfigSection

WEB_ROOT = Path(__file__).parent / "web"


def _web_file(path: Path) -> File:
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return File(path, filename=path.name, content_disposition_type="inline", media_type=media_type)


@get("/api/plugins")
async def list_plugins(pluma: PlumaDep) -> list[PluginRecord]:
    """Every plugin the host tried to load, with its hooks and status."""
    return pluma.plugins.plugin_list()


@get("/", include_in_schema=False)
async def web_index() -> File:
    """The browser app's shell."""
    return _web_file(WEB_ROOT / "index.html")


@get("/{path:path}", include_in_schema=False)
async def web_asset(path: FromPath[str]) -> Any:
    """Static files of the browser app; unknown non-API paths get the shell (history routing)."""
    relative = path.lstrip("/")
    if relative == "api" or relative.startswith("api/"):
        raise NotFound("not found")
    candidate = (WEB_ROOT / relative).resolve()
    if candidate.is_file() and candidate.is_relative_to(WEB_ROOT.resolve()):
        return _web_file(candidate)
    if "." in relative.rsplit("/", 1)[-1]:
        return Response(content={"error": "not found"}, status_code=404)
    return _web_file(WEB_ROOT / "index.html")


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``host`` and ``port`` of the main listener."""
    return [ConfigSection(schema=ServerKeys)]


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """``GET /api/plugins`` and the browser app."""
    return [list_plugins, web_index, web_asset]
