"""The PlumaError family and the single JSON error envelope ``{"error": "..."}``."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger("pluma.errors")


class StartupError(RuntimeError):
    """The server cannot start: bad config, duplicate registration, wrong storage key."""


class PlumaError(Exception):
    """An error with an HTTP status and a message safe to show the user."""

    status_code = 500

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequest(PlumaError):
    """400: the request is malformed or a value is invalid."""

    status_code = 400


class Unauthorized(PlumaError):
    """401: no valid session or token."""

    status_code = 401


class Forbidden(PlumaError):
    """403: refused (host not allowed, read-only resource, foreign origin)."""

    status_code = 403


class NotFound(PlumaError):
    """404: unknown id."""

    status_code = 404


class Conflict(PlumaError):
    """409: the request conflicts with the current state."""

    status_code = 409


class PayloadTooLarge(PlumaError):
    """413: a body or a fetched resource exceeds its cap."""

    status_code = 413


class Unprocessable(PlumaError):
    """422: well-formed but unusable content (a PNG with no card, an image too large)."""

    status_code = 422


class UpstreamError(PlumaError):
    """502: an upstream server failed or answered nonsense."""

    status_code = 502


class NotConfigured(PlumaError):
    """503: the feature needs configuration first."""

    status_code = 503


class UpstreamTimeout(PlumaError):
    """504: an upstream server did not answer in time."""

    status_code = 504


def error_response(status_code: int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    """The one error envelope every failure uses."""
    return Response(
        content={"error": message},
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def handle_pluma_error(_: Request[Any, Any, Any], exc: PlumaError) -> Response[Any]:
    """Map a PlumaError to its status and message."""
    return error_response(exc.status_code, exc.message)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        first = extra[0]
        if isinstance(first, dict):
            key = first.get("key")
            msg = str(first.get("message", "invalid value"))
            if key == "data" and msg.strip("'") == "data":
                return "a request body is required"
            return f"{msg} (at {key})" if key else msg
    return str(exc.detail) or "invalid request"


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (404 route, 405, 413 body cap, validation) in our envelope."""
    if isinstance(exc, ValidationException):
        return error_response(400, _validation_message(exc))
    status = exc.status_code
    detail = exc.detail or "error"
    if status == 413:
        detail = "request body too large"
    elif status == 404 and detail == "Not Found":
        detail = "not found"
    elif status == 405:
        detail = "method not allowed"
    headers = dict(exc.headers or {})
    return error_response(status, detail, headers or None)


def handle_recursion(_: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the decoder's recursion limit is bad input, not a crash."""
    return error_response(400, "the request body is nested too deeply")


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: log the type and route template (never bodies) and answer a plain 500."""
    route = request.scope.get("path_template") or "?"
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, route, exc_info=exc)
    return error_response(500, "internal error")
