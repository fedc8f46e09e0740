"""``http``: GET web pages from an allow-list of hosts, with size and time limits.

Only hosts on the allow-list are fetched, redirects included (each hop is
checked again), so a model cannot be steered into an internal service. The
ready ``toolset`` (``agentkit serve http``) reads the list from
``AGENTKIT_HTTP_ALLOW_HOSTS`` (comma-separated); with no list every request
is refused. An entry is a host name (``example.com``), a wildcard
(``*.example.com`` for its subdomains), an IPv4 or IPv6 address
(``192.0.2.7``, ``2001:db8::1`` or ``[2001:db8::1]``) or network
(``10.0.0.0/8``), each optionally with a port (``example.com:8443``,
``[::1]:8080``); a port equal to the scheme's default matches URLs that leave
it out.

A name is checked by what it resolves to as well: every address must be
public (not loopback, private, link-local, shared or reserved) unless that
address is itself on the list, and the connection goes to the address that
was checked (the URL's name still goes in ``Host`` and, for HTTPS, in SNI and
the certificate check), so a DNS answer that changes between check and
connect (DNS rebinding) cannot reach anything else. Proxies from the
environment are not used, for the same reason.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Resolves (host, port) to IP address strings.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HttpResponse(BaseModel):
    """What a GET returned."""

    url: str
    status: int
    content_type: str | None
    text: str
    truncated: bool


def _parse_allow(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class _Entry:
    """One allow-list entry: a name (maybe ``*.`` wildcard) or a network, maybe a port."""

    name: str | None
    network: IPNetwork | None
    port: int | None

    def matches_port(self, port: int) -> bool:
        return self.port is None or self.port == port


def _parse_entry(text: str) -> _Entry:
    entry = text.strip().lower().rstrip(".")
    port: str | None = None
    if entry.startswith("["):  # [v6] or [v6]:port
        inside, _, rest = entry[1:].partition("]")
        entry, port = inside, rest.removeprefix(":") or None
    elif entry.count(":") == 1:  # name:port or v4:port
        entry, port = entry.split(":")
    # Anything else with colons is a bare IPv6 address or network.
    try:
        number = int(port) if port is not None else None
    except ValueError:
        raise ToolError(f"allow-list entry {text!r} has a bad port") from None
    try:
        return _Entry(None, ipaddress.ip_network(entry, strict=False), number)
    except ValueError:
        return _Entry(entry, None, number)


def _unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:127.0.0.1`` is 127.0.0.1, and is checked as such."""
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _is_public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


async def _resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class _Target:
    """Where one request goes: the checked address, and the name it was asked by."""

    url: str  # with the host replaced by the checked address
    host_header: str
    sni: str | None


class HttpToolset(NamedToolset):
    """An ``http_get`` tool limited to ``allow_hosts``.

    Args:
        allow_hosts: Host names (``example.com``), wildcards (``*.example.com``),
            IP addresses or networks, each maybe with ``:port`` (see the module
            docstring); None reads ``AGENTKIT_HTTP_ALLOW_HOSTS`` on each call.
        max_bytes: Body bytes kept; the rest is cut off (``truncated`` says so).
        timeout: Seconds the whole request may take, redirects included.
        resolver: Resolves ``(host, port)`` to addresses; the system resolver
            by default (tests pass their own).
    """

    def __init__(
        self,
        allow_hosts: Sequence[str] | None = None,
        *,
        max_bytes: int = MAX_BYTES,
        timeout: float = TIMEOUT,
        resolver: Resolver | None = None,
    ) -> None:
        self._allow = [h.lower() for h in allow_hosts] if allow_hosts is not None else None
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.resolver: Resolver = resolver or _resolve

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

    def _entries(self) -> list[_Entry]:
        return [_parse_entry(entry) for entry in self.allow_hosts]

    def allowed(self, host: str, port: int | None, scheme: str = "https") -> bool:
        """Whether ``host`` (on ``port``; None is the scheme's default) is on the allow-list.

        Only the name or address itself is checked here; what a name resolves
        to is checked when a request is made.
        """
        effective = port if port is not None else _DEFAULT_PORTS.get(scheme, 443)
        host = host.lower().rstrip(".").strip("[]")
        try:
            address: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            address = None
        for entry in self._entries():
            if not entry.matches_port(effective):
                continue
            if address is not None:
                if entry.network is not None and address in entry.network:
                    return True
            elif entry.name is not None and (
                entry.name == host
                or (entry.name.startswith("*.") and host.endswith(entry.name[1:]))
            ):
                return True
        return False

    def _address_allowed(self, address: IPAddress, port: int) -> bool:
        return any(
            entry.network is not None and address in entry.network and entry.matches_port(port)
            for entry in self._entries()
        )

    async def _check(self, url: str) -> _Target:
        """Check ``url`` and its host's addresses; the target pinned to a checked address."""
        import httpx2

        try:
            parsed = httpx2.URL(url)
        except Exception:
            raise ToolError(f"{url!r} is not a valid URL") from None
        if parsed.scheme not in ("http", "https"):
            raise ToolError(f"only http and https URLs are allowed, not {parsed.scheme!r}")
        host = parsed.host
        if not host:
            raise ToolError(f"{url!r} has no host")
        port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
        if not self.allowed(host, parsed.port, parsed.scheme):
            allowed = ", ".join(self.allow_hosts) or "none (set AGENTKIT_HTTP_ALLOW_HOSTS)"
            raise ToolError(f"host {host!r} is not on the allow-list; allowed: {allowed}")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            # Listed by address: that is the explicit permission, whatever the range.
            addresses = [literal]
        else:
            try:
                with anyio.fail_after(self.timeout):
                    found = await self.resolver(host, port)
                addresses = [_unmapped(ipaddress.ip_address(a.split("%")[0])) for a in found]
            except (OSError, ValueError, TimeoutError) as exc:
                raise ToolError(f"cannot resolve {host!r}: {exc}") from None
            if not addresses:
                raise ToolError(f"cannot resolve {host!r}: no addresses")
            for address in addresses:
                if not _is_public(address) and not self._address_allowed(address, port):
                    raise ToolError(
                        f"host {host!r} resolves to {address}, which is not a public address "
                        f"(loopback, private, link-local or reserved); to allow it, put the "
                        f"address itself on the allow-list"
                    )
        pinned = addresses[0]
        default = parsed.port is None or parsed.port == _DEFAULT_PORTS[parsed.scheme]
        shown_host = f"[{host}]" if ":" in host else host
        return _Target(
            url=str(parsed.copy_with(host=str(pinned))),
            host_header=shown_host if default else f"{shown_host}:{port}",
            sni=host if parsed.scheme == "https" and literal is None else None,
        )

    async def get(self, url: str) -> HttpResponse:
        """GET ``url`` within the limits.

        Raises:
            ToolError: the host is not allowed, the request failed or took too long.
        """
        import httpx2

        try:
            with anyio.fail_after(self.timeout):
                # trust_env=False: a proxy from the environment would resolve
                # the name itself, out of reach of the address check.
                async with httpx2.AsyncClient(
                    follow_redirects=False, timeout=self.timeout, trust_env=False
                ) as client:
                    for _ in range(MAX_REDIRECTS + 1):
                        target = await self._check(url)
                        extensions = {"sni_hostname": target.sni} if target.sni else None
                        async with client.stream(
                            "GET",
                            target.url,
                            headers={"Host": target.host_header},
                            extensions=extensions,
                        ) as response:
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
