"""From an HTTP status, body and headers to agentkit's exception tree; pure, no I/O.

Public through ``agentkit.adapter``, so a third party's adapter on any HTTP
stack maps provider errors exactly the way ours do.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

from .exceptions import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    ModelNotFoundError,
    ProviderHTTPError,
    RateLimitError,
    ServerError,
)

__all__ = ["map_error_body", "map_http_error", "parse_retry_after"]


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Args:
        headers: Response headers (case-insensitive lookups are the caller's job
            when a plain dict is given; ``httpx2.Headers`` does it already).
        now: The current time, for tests.

    Returns:
        Seconds, never negative, or None when no usable header is present.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _parse_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _error_fields(body: Any) -> tuple[str, str | None, str]:
    """``(message, code, searchable text)`` from the error shapes providers use."""
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, str):  # Ollama: {"error": "model 'x' not found"}
        return error, None, error.lower()
    if not isinstance(error, dict):
        text = str(error or "")[:500]
        return text, None, text.lower()
    message = str(error.get("message") or error.get("detail") or "")
    code = error.get("code")
    # OpenAI: code "invalid_api_key" / type; Gemini: numeric code plus status "NOT_FOUND".
    code_text = code if isinstance(code, str) else error.get("status") or error.get("type")
    detail = json.dumps(error.get("details")) if error.get("details") else ""
    searchable = f"{message} {code_text or ''} {error.get('type') or ''} {detail}".lower()
    return message, code_text if isinstance(code_text, str) else None, searchable


def _gemini_retry_delay(body: Any) -> float | None:
    # Gemini puts the wait in the body: details[RetryInfo].retryDelay = "30s".
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for item in details if isinstance(details, list) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def map_http_error(
    provider: str,
    model_id: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    key_variable: str | None = None,
    base_url: str | None = None,
) -> ProviderHTTPError:
    """Translate an error status (or an error inside a 200 stream) into agentkit's tree.

    The provider's own code wins over the status where it is more precise (a
    ``model_not_found`` 400, a ``context_length_exceeded`` 400, a Gemini
    ``API_KEY_INVALID`` 400); otherwise the status decides. Pure: no I/O.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        status: HTTP status; 200 for an error that arrived inside a stream.
        headers: Response headers (for ``Retry-After``).
        body: The error body: bytes, text or already-parsed JSON.
        key_variable: Environment variable holding the key, named in auth errors.
        base_url: Where the request went, named in not-found errors.

    Returns:
        The exception to raise (the caller raises it).
    """
    parsed = _parse_body(body)
    message, code, text = _error_fields(parsed)
    detail = message or f"HTTP {status}"
    retry_after = parse_retry_after(headers)
    if retry_after is None and status == 429:
        retry_after = _gemini_retry_delay(parsed)
    common: dict[str, Any] = {
        "provider": provider,
        "model_id": model_id,
        "status_code": status,
        "body": parsed,
        "retry_after": retry_after,
        "code": code,
    }
    where = f" at {base_url}" if base_url else ""
    if status in (401, 403) or "invalid_api_key" in text or "api_key_invalid" in text:
        check = f"check that {key_variable} holds a valid key" if key_variable else "check the key"
        return AuthenticationError(f"authentication failed: {detail} ({check})", **common)
    if status == 429 or "rate_limit" in text or "insufficient_quota" in text:
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimitError(f"rate limited or out of quota: {detail}{wait}", **common)
    if code == "model_not_found" or status == 404:
        return ModelNotFoundError(
            f"model {model_id!r} not found{where}: {detail} "
            "(check the model name, and the base URL if you set one)",
            **common,
        )
    if "context_length" in text or "maximum context length" in text or "context window" in text:
        return ContextLengthError(
            f"the conversation does not fit the model's context window: {detail} "
            "(shorten the history or choose a model with a larger window)",
            **common,
        )
    if "content_filter" in text or "content_policy" in text or "safety" in (code or "").lower():
        return ContentFilterError(f"blocked by the provider's content filter: {detail}", **common)
    if status >= 500 or status == 200:
        # 200: the request was accepted and failed mid-stream, on the provider's side.
        return ServerError(f"provider error (usually temporary): {detail}", **common)
    if 400 <= status < 500:
        return BadRequestError(f"request rejected: {detail}", **common)
    return ProviderHTTPError(f"unexpected status: {detail}", **common)


def map_error_body(
    provider: str,
    model_id: str,
    body: Mapping[str, Any],
    *,
    key_variable: str | None = None,
    base_url: str | None = None,
) -> ProviderHTTPError:
    """Translate an ``{"error": {...}}`` object that arrived inside a 200 answer.

    Some providers report failures in the body of a successful response: a
    stream's error event (Groq's ``event: error``), or a plain JSON error where
    a stream was expected (Gemini). Google's error objects carry the status
    they stand for in an integer ``code`` (429 with ``RESOURCE_EXHAUSTED``),
    which then picks the class and the ``RetryInfo`` delay; without one the
    error is read as a 200. ``status_code`` is 200 either way: that is what
    came over the wire.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        body: The parsed error object.
        key_variable: Environment variable holding the key, named in auth errors.
        base_url: Where the request went, named in not-found errors.

    Returns:
        The exception to raise (the caller raises it).
    """
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    status = code if type(code) is int and 400 <= code < 600 else 200
    mapped = map_http_error(
        provider, model_id, status, {}, dict(body), key_variable=key_variable, base_url=base_url
    )
    mapped.status_code = 200
    return mapped
