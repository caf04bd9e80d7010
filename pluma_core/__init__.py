"""Pluma core: the plugin host. Plugins import ``hookimpl`` from here."""

from importlib.metadata import PackageNotFoundError, version

import pluggy

PROJECT_NAME = "pluma"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker for plugin hook implementations: ``@hookimpl def register_routes(pluma): ...``."""

try:
    __version__ = version("pluma")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
