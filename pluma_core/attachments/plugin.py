"""Attachments as a default plugin."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.attachments.routes import ATTACHMENT_STORE, AttachmentController
from pluma_core.attachments.store import AttachmentStore


@hookimpl
def register_services(pluma: Any) -> dict[str, Any]:
    """The ``attachment_store`` service (an image plugin saves generations through it)."""
    return {ATTACHMENT_STORE: AttachmentStore(pluma.data_dir / "attachments")}


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """``/api/attachments/{name}``."""
    return [AttachmentController]
