"""Domain errors raised by services and shown to users as friendly messages.

This module imports nothing of ours: every layer may raise and catch these.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: `str(error)` is safe to show to the user."""


class ValidationError(ServiceError):
    """Bad input; `field` names the form control it belongs to (or None for the whole form)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ServiceError):
    """Missing, or not visible to this user (the two are never told apart)."""

    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message)


class PermissionDenied(ServiceError):
    """Visible but not changeable by this user."""


class AuthError(ServiceError):
    """Sign-in failed or the session is no longer valid."""


class RateLimited(ServiceError):
    """Too many attempts; `retry_after` says in how many seconds to try again (0: unknown)."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(ServiceError):
    """Sending would pass a monthly budget (the user's or the assistant's)."""


class ModelNotAllowed(PermissionDenied):
    """The model is not on the allowed list of any of the user's groups."""


class Unavailable(ServiceError):
    """A backing service (the database) cannot be reached; the user should try again shortly."""

    def __init__(
        self,
        message: str = "The service cannot reach its database right now. "
        "Please try again in a minute.",
    ) -> None:
        super().__init__(message)
