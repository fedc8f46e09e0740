"""From an HTTP status, body and headers to agentkit's exception tree; pure, no I/O.

Public through ``agentkit.adapter``, so a third party's adapter on any HTTP
stack maps provider errors exactly the way ours do.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .exceptions import (
    AdapterError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    ModelNotFoundError,
    ProviderHTTPError,
    RateLimitError,
    ServerError,
    ToolCallRejectedError,
)

__all__ = [
    "MESSAGE_LIMIT",
    "TEXT_LIMIT",
    "map_error_body",
    "map_http_error",
    "parse_retry_after",
    "scrub",
    "scrub_error",
    "scrub_value",
]

#: A provider's error message is cut to this many characters in the exception's
#: message (and so on stderr): a person reads the start, and a 50 MB error body
#: must not become a 50 MB message.
MESSAGE_LIMIT = 2_000
#: Every string in ``ProviderHTTPError.body`` (the whole body when it is text)
#: is cut to this many characters, so the body is bounded whatever came over the wire.
TEXT_LIMIT = 8_000

#: What a secret is replaced with in messages and bodies.
_REDACTED = "[redacted]"
#: Shorter "secrets" are not scrubbed: replacing "a" everywhere would wreck the text
#: and hide nothing worth hiding.
_MIN_SECRET = 8


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (an API key, a bearer token) replaced by ``[redacted]``.

    Providers echo keys in their error messages ("Incorrect API key provided:
    sk-..."), so every message built from a provider's answer goes through here.
    Secrets shorter than 8 characters are left alone.
    """
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def scrub_value(value: Any, secrets: Iterable[str], *, limit: int | None = TEXT_LIMIT) -> Any:
    """A parsed JSON value with every string scrubbed and cut to ``limit`` characters."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        text = scrub(value, secrets)
        return _cut(text, limit) if limit is not None else text
    if isinstance(value, dict):
        return {
            scrub(str(k), secrets): scrub_value(v, secrets, limit=limit) for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_value(v, secrets, limit=limit) for v in value]
    return value


def scrub_error(error: AdapterError, secrets: Iterable[str]) -> AdapterError:
    """``error`` with every secret scrubbed from its message, body and fields, in place.

    For errors an adapter built from a provider's answer by other means than
    ``map_http_error`` (a stream reader's error event, a custom mapper): the
    exchange passes every error through here before it leaves.

    Returns:
        ``error`` itself.
    """
    secrets = tuple(s for s in secrets if len(s) >= _MIN_SECRET)
    if not secrets:
        return error
    error.args = tuple(scrub(a, secrets) if isinstance(a, str) else a for a in error.args)
    for name, value in vars(error).items():
        if isinstance(value, str | dict | list):
            setattr(error, name, scrub_value(value, secrets, limit=None))
    return error


def _cut(text: str, limit: int, unread: int = 0) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out.

    ``unread`` counts bytes of the body the caller never read (it stopped at
    its own limit), so the count covers everything the provider sent.
    """
    if len(text) <= limit and not unread:
        return text
    kept = text[:limit]
    more = len(text.encode()) - len(kept.encode()) + unread
    return f"{kept}… ({more} bytes more)"


def _unread(headers: Mapping[str, str], body: Any) -> int:
    """Bytes the ``Content-Length`` promised beyond the ``body`` given (0 when unknown)."""
    if not isinstance(body, bytes | bytearray):
        return 0
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        return 0
    return max(0, declared - len(body))


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
        text = str(error or "")
        return text, None, text[:500].lower()
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
    secrets: Iterable[str] = (),
) -> ProviderHTTPError:
    """Translate an error status (or an error inside a 200 stream) into agentkit's tree.

    The provider's own code wins over the status where it is more precise (a
    ``model_not_found`` 400, a ``context_length_exceeded`` 400, a Gemini
    ``API_KEY_INVALID`` 400); otherwise the status decides. Pure: no I/O.

    What the provider said is bounded and cleaned before it goes anywhere: its
    message is cut to ``MESSAGE_LIMIT`` characters (``… (N bytes more)``, N
    counted from ``Content-Length`` when the caller read only part of a
    bigger body), every string of ``.body`` to ``TEXT_LIMIT``, and every
    secret is replaced by ``[redacted]`` in both.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        status: HTTP status; 200 for an error that arrived inside a stream.
        headers: Response headers (for ``Retry-After``).
        body: The error body: bytes, text or already-parsed JSON.
        key_variable: Environment variable holding the key, named in auth errors.
        base_url: Where the request went, named in not-found errors.
        secrets: The key and tokens the request carried, scrubbed from the
            message and the body (providers echo a wrong key back).

    Returns:
        The exception to raise (the caller raises it).
    """
    secrets = tuple(secrets)
    raw = _parse_body(body)
    message, code, text = _error_fields(raw)
    unread = _unread(headers, body)
    detail = scrub(_cut(message, MESSAGE_LIMIT, unread), secrets) if message else ""
    detail = detail or f"HTTP {status}"
    parsed = scrub_value(raw, secrets)
    code = scrub(code, secrets) if code else code
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
    if code == "tool_use_failed":
        # Groq checks the model's tool call on its side and answers 400 with what the
        # model wrote: the model's mistake, which the runner hands back to it.
        error = parsed.get("error") if isinstance(parsed, dict) else None
        generation = error.get("failed_generation") if isinstance(error, dict) else None
        return ToolCallRejectedError(
            f"the provider rejected the model's tool call: {detail}",
            generation=generation if isinstance(generation, str) else "",
            **common,
        )
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
    secrets: Iterable[str] = (),
) -> ProviderHTTPError:
    """Translate an ``{"error": {...}}`` object that arrived inside a 200 answer.

    Some providers report failures in the body of a successful response: a
    stream's error event (Groq's ``event: error``), or a plain JSON error where
    a stream was expected (Gemini). Google's error objects carry the status
    they stand for in an integer ``code`` (429 with ``RESOURCE_EXHAUSTED``),
    Groq's stream errors in ``status_code`` (400 for a rejected request); that
    status picks the class (a 400 is a ``BadRequestError``, not retried) and
    the ``RetryInfo`` delay. Without one the error is read as a failure on the
    provider's side after it accepted the request (``ServerError``).
    ``status_code`` is 200 either way: that is what came over the wire.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        body: The parsed error object.
        key_variable: Environment variable holding the key, named in auth errors.
        base_url: Where the request went, named in not-found errors.
        secrets: The key and tokens the request carried, scrubbed everywhere.

    Returns:
        The exception to raise (the caller raises it).
    """
    status = _status_in(body)
    mapped = map_http_error(
        provider,
        model_id,
        status or 200,
        {},
        dict(body),
        key_variable=key_variable,
        base_url=base_url,
        secrets=secrets,
    )
    mapped.status_code = 200
    return mapped


def _status_in(body: Mapping[str, Any]) -> int | None:
    """The HTTP status an in-band error object names, if any.

    Google: ``error.code`` 429; Groq's stream ``event: error``: a top-level
    ``status_code`` (or one inside ``error``).
    """
    error = body.get("error")
    inner = error if isinstance(error, dict) else {}
    for value in (body.get("status_code"), inner.get("status_code"), inner.get("code")):
        if type(value) is int and 400 <= value < 600:
            return value
    return None
