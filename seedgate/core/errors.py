"""Canonical API errors. Dialects render them in their own envelopes; the core only names what went wrong."""

from __future__ import annotations

from collections.abc import Iterable

from .limits import LimitExceeded, Refused
from .suggest import did_you_mean

_LIMIT_CODES = {
    Refused.BUDGET: (429, "SetLimitExceeded"),
    Refused.CURRENCY: (429, "SetLimitExceeded"),
    Refused.RATE: (429, "APIAccountRpmRateLimitExceeded"),
    Refused.QUEUED: (429, "QuotaExceeded"),
    Refused.MODEL: (403, "AccessDenied"),
    Refused.EXPIRED: (403, "AccessDenied"),
}


class ApiError(Exception):
    """An error answered to the caller. `code` uses Ark's vocabulary; dialects translate it if they must."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param


def shown(text: str, limit: int = 120) -> str:
    """A caller's value as an error message repeats it: cut short, so a 10 MB name is not echoed back."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def limit_error(refused: LimitExceeded) -> ApiError:
    """A create a budget or limit refused, in Ark's words: 429 QuotaExceeded for too many queued tasks (Ark's own
    answer past its queue limit), 429 for a rate or spend limit, 403 for a model or expiry the budget rules out."""
    status, code = _LIMIT_CODES[refused.reason]
    return ApiError(status, code, refused.message)


def invalid(param: str, detail: str) -> ApiError:
    return ApiError(400, "InvalidParameter", detail, param)


def missing(param: str) -> ApiError:
    return ApiError(400, "MissingParameter", f"the required parameter `{param}` is missing", param)


def not_found(what: str, ident: str, param: str | None = None) -> ApiError:
    return ApiError(404, "ResourceNotFound", f"the {what} {shown(ident)} was not found", param)


def model_not_found(name: str, known: Iterable[str] = ()) -> ApiError:
    """`known`: the catalog's model IDs and aliases, for a "did you mean" on a near miss."""
    message = f"the model or endpoint {shown(name)} does not exist or you do not have access to it"
    # A name far longer than any model ID is no near miss (and not worth comparing character by character).
    if len(name) <= 200 and (guess := did_you_mean(name, known)) is not None:
        message += f" (did you mean {guess}?)"
    return ApiError(404, "InvalidEndpointOrModel.NotFound", message, "model")


def unauthorized(detail: str = "the API key is missing or invalid") -> ApiError:
    return ApiError(401, "AuthenticationError", detail)


def conflict(detail: str, code: str = "InvalidAction") -> ApiError:
    return ApiError(409, code, detail)


def internal(detail: str = "the service hit an internal error; please retry") -> ApiError:
    return ApiError(500, "InternalServiceError", detail)
