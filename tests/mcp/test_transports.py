"""The HTTP transport's socket and Host handling, without a subprocess."""

from __future__ import annotations

import pytest

from agentkit.mcp._transports import _host_entry, _security


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8443", ("example.com", "8443")),
        ("192.0.2.7", ("192.0.2.7", None)),
        ("2001:db8::1", ("[2001:db8::1]", None)),
        ("[2001:db8::1]", ("[2001:db8::1]", None)),
        ("[2001:db8::1]:8000", ("[2001:db8::1]", "8000")),
    ],
)
def test_allow_host_entries(entry: str, parsed: tuple[str, str | None]) -> None:
    assert _host_entry(entry) == parsed


def test_allowed_hosts_accept_any_port_unless_one_is_given() -> None:
    settings = _security("0.0.0.0", ["192.0.2.7", "box.lan:9000"], [])
    assert "192.0.2.7" in settings.allowed_hosts
    assert "192.0.2.7:*" in settings.allowed_hosts
    assert "box.lan:9000" in settings.allowed_hosts
    assert "box.lan:*" not in settings.allowed_hosts
    assert "http://192.0.2.7:*" in settings.allowed_origins
