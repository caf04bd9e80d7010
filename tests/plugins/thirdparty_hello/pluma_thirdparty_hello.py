"""A throw-away third-party plugin: one module, one route, one entry point."""

from litestar import get

from pluma_core import hookimpl


@get("/api/hello-third-party")
async def hello() -> dict[str, str]:
    """Proves a distribution outside this repository can add a route."""
    return {"hello": "from a third party"}


@hookimpl
def register_routes(pluma):
    """The one route."""
    return [hello]
