"""Relay's tests run offline: loopback servers only, no key from the environment."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

# pytest's own fixture for testing plugins: test_record.py runs the kit's
# plugin in a fresh pytest, in a temporary folder.
pytest_plugins = ["pytester"]

_real_connect = socket.socket.connect


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    try:
        return address[0] == "localhost" or ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False


def _guarded(self: socket.socket, address: Any) -> Any:
    if not _loopback(address):
        raise ConnectionRefusedError(f"Relay's tests may not reach {address!r}: loopback only")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded  # type: ignore[method-assign, assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_relay_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAY_API_KEY", raising=False)
    monkeypatch.delenv("RELAY_BASE_URL", raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiohttp runs on asyncio only
