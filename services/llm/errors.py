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


KEY_REJECTED = "The model provider rejected the API key. Check the OPENAI_API_KEY setting."


def _provider_detail(exc: openai.APIError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or exc.message or ""
    return scrub(str(message))


# Provider error codes (HTTP bodies and stream `error` events) and what to tell the user.
_CODES: dict[str, tuple[ErrorCategory, str]] = {
    "insufficient_quota": (
        ErrorCategory.quota,
        "The model provider account is out of credit or over its quota. An administrator "
        "needs to check the provider's billing.",
    ),
    "billing_hard_limit_reached": (
        ErrorCategory.quota,
        "The model provider account reached its spending limit. An administrator needs to "
        "raise it in the provider's billing settings.",
    ),
    "rate_limit_exceeded": (
        ErrorCategory.rate_limited,
        "The model provider is rate-limiting requests. Wait a moment and try again.",
    ),
    "invalid_api_key": (
        ErrorCategory.auth,
        "The model provider rejected the API key. Check the OPENAI_API_KEY setting.",
    ),
    "model_not_found": (
        ErrorCategory.bad_request,
        "The model provider does not know this model (or the key may not use it). Check the "
        "assistant's model.",
    ),
    "context_length_exceeded": (
        ErrorCategory.bad_request,
        "The conversation is too long for this model. Start a new chat or shorten the message.",
    ),
    "content_policy_violation": (
        ErrorCategory.bad_request,
        "The model provider's safety system refused this request.",
    ),
    "invalid_prompt": (
        ErrorCategory.bad_request,
        "The model provider's safety system refused this request.",
    ),
    "server_error": (
        ErrorCategory.stream_broken,
        "The model provider had a server error during the reply. The text received so far "
        "is kept; you can retry.",
    ),
}
_CODE_ALIASES = {"rate_limit_error": "rate_limit_exceeded", "rate_limit": "rate_limit_exceeded"}


def error_from_body(body: dict, fallback: str) -> ReplyError:
    """The `ReplyError` for a provider error object, in either shape the stream sends:

    nested `{"type": "error", "error": {"code", "message", "type"}}` (the live wire) or flat
    `{"type": "error", "code", "message"}` (the documented event); also `response.error`.
    """
    inner = body.get("error") if isinstance(body.get("error"), dict) else body
    code = str(inner.get("code") or inner.get("type") or "")
    known = _CODES.get(_CODE_ALIASES.get(code, code))
    if known is not None:
        category, message = known
        log.warning("LLM stream error %s (%s)", code, category)
        return ReplyError(category, message)
    return stream_broken(str(inner.get("message") or fallback))


def _coded(exc: openai.APIError) -> ReplyError | None:
    """The friendly error for a status error whose code we know (429 insufficient_quota...)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    code = str(getattr(exc, "code", None) or body.get("code") or "")
    known = _CODES.get(_CODE_ALIASES.get(code, code))
    if known is None or known[0] == ErrorCategory.stream_broken:
        return None
    return ReplyError(*known)


def map_exception(exc: BaseException) -> ReplyError:
    """The `ReplyError` for an exception raised while calling the provider.

    Status errors come from the SDK (after its own retries); transport errors raised while
    reading a stream that had already started mean the stream broke.
    """
    error = _map(exc)
    log.warning("LLM call failed: %s (%s)", error.category, type(exc).__name__)
    return error


def _map(exc: BaseException) -> ReplyError:
    if isinstance(exc, openai.APIStatusError) and (coded := _coded(exc)) is not None:
        return coded
    match exc:
        case openai.RateLimitError():
            return ReplyError(
                ErrorCategory.rate_limited,
                "The model provider is rate-limiting requests (or the account is out of "
                "quota). Wait a moment and try again.",
            )
        case openai.AuthenticationError():
            return ReplyError(ErrorCategory.auth, KEY_REJECTED)
        case openai.BadRequestError() if exc.type == "no_db_connection":
            # A LiteLLM proxy without a database knows only its master key and answers any
            # other key with this 400 instead of a 401.
            return ReplyError(ErrorCategory.auth, KEY_REJECTED)
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
                "The model provider went silent for too long (LLM_READ_TIMEOUT_SECONDS). "
                "Any text received is kept and its cost is estimated; try again.",
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
