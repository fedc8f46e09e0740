"""``http``: GET web pages from an allow-list of hosts, with size and time limits.

Only hosts on the allow-list are fetched, redirects included (each hop is
checked again), so a model cannot be steered into an internal service. The
ready ``toolset`` (``agentkit serve http``) reads the list from
``AGENTKIT_HTTP_ALLOW_HOSTS`` (comma-separated; ``*.example.com`` matches
subdomains; ``host:port`` pins a port); with no list every request is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import anyio
from pydantic import BaseModel

from agentkit import tool
from agentkit.exceptions import ToolError

from ._base import NamedToolset

if TYPE_CHECKING:
    import httpx2

__all__ = ["HttpResponse", "HttpToolset", "toolset"]

MAX_BYTES = 1_000_000
TIMEOUT = 10.0
MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml", "+json", "+xml")


class HttpResponse(BaseModel):
    """What a GET returned."""

    url: str
    status: int
    content_type: str | None
    text: str
    truncated: bool


def _parse_allow(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


class HttpToolset(NamedToolset):
    """An ``http_get`` tool limited to ``allow_hosts``.

    Args:
        allow_hosts: Host names (``example.com``), wildcards (``*.example.com``)
            or ``host:port``; None reads ``AGENTKIT_HTTP_ALLOW_HOSTS`` on each call.
        max_bytes: Body bytes kept; the rest is cut off (``truncated`` says so).
        timeout: Seconds the whole request may take, redirects included.
    """

    def __init__(
        self,
        allow_hosts: Sequence[str] | None = None,
        *,
        max_bytes: int = MAX_BYTES,
        timeout: float = TIMEOUT,
    ) -> None:
        self._allow = [h.lower() for h in allow_hosts] if allow_hosts is not None else None
        self.max_bytes = max_bytes
        self.timeout = timeout

        @tool(annotations={"readOnlyHint": True, "openWorldHint": True}, title="HTTP GET")
        async def http_get(url: str) -> HttpResponse:
            """Fetch a URL with GET and return its text (allowed hosts only).

            Args:
                url: An http:// or https:// URL on an allowed host.
            """
            return await self.get(url)

        super().__init__("http", [http_get])

    @property
    def allow_hosts(self) -> list[str]:
        """The hosts requests may go to."""
        if self._allow is not None:
            return self._allow
        return _parse_allow(os.environ.get("AGENTKIT_HTTP_ALLOW_HOSTS", ""))

    def allowed(self, host: str, port: int | None) -> bool:
        """Whether ``host`` (on ``port``) is on the allow-list."""
        host = host.lower().rstrip(".")
        for entry in self.allow_hosts:
            name, _, pinned = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
            if pinned and str(port) != pinned:
                continue
            if name == host or (name.startswith("*.") and host.endswith(name[1:])):
                return True
        return False

    def _check(self, url: str) -> None:
        import httpx2

        try:
            parsed = httpx2.URL(url)
        except Exception:
            raise ToolError(f"{url!r} is not a valid URL") from None
        if parsed.scheme not in ("http", "https"):
            raise ToolError(f"only http and https URLs are allowed, not {parsed.scheme!r}")
        if not self.allowed(parsed.host, parsed.port):
            allowed = ", ".join(self.allow_hosts) or "none (set AGENTKIT_HTTP_ALLOW_HOSTS)"
            raise ToolError(f"host {parsed.host!r} is not on the allow-list; allowed: {allowed}")

    async def get(self, url: str) -> HttpResponse:
        """GET ``url`` within the limits.

        Raises:
            ToolError: the host is not allowed, the request failed or took too long.
        """
        import httpx2

        try:
            with anyio.fail_after(self.timeout):
                async with httpx2.AsyncClient(
                    follow_redirects=False, timeout=self.timeout
                ) as client:
                    for _ in range(MAX_REDIRECTS + 1):
                        self._check(url)
                        async with client.stream("GET", url) as response:
                            location = response.headers.get("location")
                            if response.is_redirect and location:
                                url = urljoin(url, location)
                                continue
                            return await self._read(url, response)
                    raise ToolError(f"more than {MAX_REDIRECTS} redirects")
        except TimeoutError:
            raise ToolError(f"the request took longer than {self.timeout} s") from None
        except httpx2.HTTPError as exc:
            raise ToolError(f"the request failed: {type(exc).__name__}: {exc}") from None

    async def _read(self, url: str, response: httpx2.Response) -> HttpResponse:
        body = bytearray()
        truncated = False
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                del body[self.max_bytes :]
                truncated = True
                break
        content_type = response.headers.get("content-type")
        if content_type and not any(t in content_type for t in _TEXT_TYPES):
            text = f"[binary content, {content_type}, {len(body)} bytes read]"
        else:
            text = body.decode(response.encoding or "utf-8", errors="replace")
        return HttpResponse(
            url=url,
            status=response.status_code,
            content_type=content_type,
            text=text,
            truncated=truncated,
        )


#: The ``http`` tool set (entry point ``http``); hosts from ``AGENTKIT_HTTP_ALLOW_HOSTS``.
toolset = HttpToolset()
