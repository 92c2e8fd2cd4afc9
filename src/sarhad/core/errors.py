"""One error type with a stable code, mapped to HTTP answers in one place."""

from __future__ import annotations

from typing import Any


class SarhadError(Exception):
    """A refusal the user can act on. ``code`` is stable for clients; ``message`` is for people."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(SarhadError):
    status_code = 422
    code = "invalid"


class NotAuthenticated(SarhadError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(SarhadError):
    status_code = 403
    code = "forbidden"


class NotFound(SarhadError):
    status_code = 404
    code = "not_found"


class Conflict(SarhadError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(SarhadError):
    status_code = 413
    code = "too_large"


class TooManyRequests(SarhadError):
    status_code = 429
    code = "throttled"
