"""The tests install nothing: missing npm peers skip locally and fail under CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_peers import REPO, find_node_peers, peers_dir


def test_peers_live_outside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTKIT_PEERS_DIR", raising=False)
    assert peers_dir() == Path.home() / ".cache" / "agentkit" / "node"
    assert not peers_dir().is_relative_to(REPO)


def test_missing_peers_skip_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "peers"
    monkeypatch.setenv("AGENTKIT_PEERS_DIR", str(empty))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"bash \.ci/install-peers\.sh"):
        find_node_peers()
    assert not empty.exists()  # nothing was installed, not even a folder


def test_missing_peers_fail_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_PEERS_DIR", str(tmp_path / "peers"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"bash \.ci/install-peers\.sh"):
        find_node_peers()
