"""Map openai SDK and transport exceptions to friendly `ReplyError`s."""

from __future__ import annotations

import logging
import re

import httpx2
import openai

from services.llm.base import ErrorCategory, ReplyError

log = logging.getLogger(__name__)

_KEY_PATTERN = re.compile(r"(sk-|key[-_])[A-Za-z0-9_*\-.]{4,}", re.IGNORECASE)
_MAX_DETAIL = 300


def scrub(text: str) -> str:
    """Drop anything that looks like an API key from a provider message and shorten it."""
    text = _KEY_PATTERN.sub("[redacted]", text.strip())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _provider_detail(exc: openai.APIError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or exc.message or ""
    return scrub(str(message))


def map_exception(exc: BaseException) -> ReplyError:
    """The `ReplyError` for an exception raised while calling the provider.

    Status errors come from the SDK (after its own retries); transport errors raised while
    reading a stream that had already started mean the stream broke.
    """
    error = _map(exc)
    log.warning("LLM call failed: %s (%s)", error.category, type(exc).__name__)
    return error


def _map(exc: BaseException) -> ReplyError:
    match exc:
        case openai.RateLimitError():
            return ReplyError(
                ErrorCategory.rate_limited,
                "The model provider is rate-limiting requests (or the account is out of "
                "quota). Wait a moment and try again.",
            )
        case openai.AuthenticationError():
            return ReplyError(
                ErrorCategory.auth,
                "The model provider rejected the API key. Check the OPENAI_API_KEY setting.",
            )
        case openai.PermissionDeniedError():
            return ReplyError(
                ErrorCategory.auth,
                "The API key is not allowed to use this model or feature. Check the "
                "OPENAI_API_KEY setting and the project's model access.",
            )
        case openai.NotFoundError():
            return ReplyError(
                ErrorCategory.bad_request,
                f"The model or resource was not found ({_provider_detail(exc)}). Check the "
                "model id and the OPENAI_BASE_URL setting.",
            )
        case openai.BadRequestError() | openai.UnprocessableEntityError():
            return ReplyError(
                ErrorCategory.bad_request,
                f"The model provider rejected the request: {_provider_detail(exc)}",
            )
        case openai.APITimeoutError() | httpx2.TimeoutException():
            return ReplyError(
                ErrorCategory.timeout,
                "The model provider took too long to answer. Try again, or raise the "
                "LLM_TIMEOUT_SECONDS setting.",
            )
        case openai.APIConnectionError():
            # Where the provider lives is for the operator (the log), not for every member.
            log.warning("Could not reach the model provider at %s", _origin(exc))
            return ReplyError(
                ErrorCategory.provider_down,
                "Could not reach the model provider. Try again shortly; if it persists, an "
                "administrator can check the OPENAI_BASE_URL setting and the server log.",
            )
        case openai.APIStatusError() if exc.status_code >= 500:
            return ReplyError(
                ErrorCategory.provider_down,
                f"The model provider had a server error (HTTP {exc.status_code}). "
                "Try again shortly.",
            )
        case openai.APIStatusError():
            return ReplyError(
                ErrorCategory.bad_request,
                f"The model provider refused the request (HTTP {exc.status_code}): "
                f"{_provider_detail(exc)}",
            )
        case openai.APIError():
            return stream_broken(_provider_detail(exc))
        case httpx2.TransportError():
            return stream_broken("the connection to the model provider was lost")
        case _:
            return stream_broken(f"unexpected {type(exc).__name__}")


def stream_broken(detail: str) -> ReplyError:
    """The error for a stream that failed after it started; partial text was delivered."""
    detail = scrub(detail) or "the provider reported an error"
    return ReplyError(
        ErrorCategory.stream_broken,
        f"The reply was interrupted ({detail}). The text received so far is kept; you can retry.",
    )


def _origin(exc: openai.APIConnectionError) -> str:
    try:
        url = exc.request.url
    except (AttributeError, RuntimeError):
        return "the configured address"
    return f"{url.scheme}://{url.netloc.decode()}"
