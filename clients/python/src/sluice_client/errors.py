"""Typed errors: one exception class per status code callers branch on.

Every class is a ``connectrpc.errors.ConnectError``, so code written for the
generated clients keeps working; ``SluiceError`` catches them all.
"""

from __future__ import annotations

from connectrpc.code import Code
from connectrpc.errors import ConnectError

__all__ = [
    "SluiceError",
    "NotFoundError",
    "AlreadyExistsError",
    "InvalidArgumentError",
    "FailedPreconditionError",
    "UnavailableError",
    "DeadlineExceededError",
    "UnauthenticatedError",
    "PermissionDeniedError",
    "from_connect_error",
]


class SluiceError(ConnectError):
    """An error the control plane returned, or a call that did not reach it.

    ``code`` is the Connect status code and ``message`` the server's message.
    """


class NotFoundError(SluiceError):
    """The connector (or task, or plugin) does not exist."""


class AlreadyExistsError(SluiceError):
    """What the call would create exists already."""


class InvalidArgumentError(SluiceError):
    """The request is wrong whatever the cluster's state: a bad config, a missing name."""


class FailedPreconditionError(SluiceError):
    """The cluster is not in the state the call needs (offsets of a running connector)."""


class UnavailableError(SluiceError):
    """The control plane cannot be reached or has no leader yet; retry later."""


class DeadlineExceededError(SluiceError):
    """No answer came before the timeout."""


class UnauthenticatedError(SluiceError):
    """The call carried no valid token."""


class PermissionDeniedError(SluiceError):
    """The token may not do this."""


_BY_CODE: dict[Code, type[SluiceError]] = {
    Code.NOT_FOUND: NotFoundError,
    Code.ALREADY_EXISTS: AlreadyExistsError,
    Code.INVALID_ARGUMENT: InvalidArgumentError,
    Code.FAILED_PRECONDITION: FailedPreconditionError,
    Code.UNAVAILABLE: UnavailableError,
    Code.DEADLINE_EXCEEDED: DeadlineExceededError,
    Code.UNAUTHENTICATED: UnauthenticatedError,
    Code.PERMISSION_DENIED: PermissionDeniedError,
}


def from_connect_error(err: ConnectError) -> SluiceError:
    """Returns the typed error for a ConnectError, with its code, message and details."""
    if isinstance(err, SluiceError):
        return err
    cls = _BY_CODE.get(err.code, SluiceError)
    return cls(err.code, err.message, err.details)
