"""What ``agentkit serve AGENT.yaml --a2a`` does: load the agent file, serve it over A2A."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from ..exceptions import UserError

__all__ = ["TOKEN_ENV", "serve_a2a_from_args"]

#: The environment variable read for the bearer token when none is given.
TOKEN_ENV = "AGENTKIT_A2A_TOKEN"


def serve_a2a_from_args(
    targets: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    model: str | None = None,
    public_url: str | None = None,
) -> None:
    """Serve one agent file over A2A until interrupted (the body of ``serve --a2a``).

    Args:
        targets: The command line's targets: exactly one agent file.
        host: Address to bind (loopback by default).
        port: Port to bind; 0 picks a free one.
        token: Bearer token clients must send; ``AGENTKIT_A2A_TOKEN`` when None.
        model: ``--model``; chosen like ``agentkit run`` does when None.
        public_url: The URL the Agent Card names, when clients reach the
            server through a proxy.

    Raises:
        UserError: not exactly one target, or it is not an agent file.
    """
    import anyio

    from .._agentfile import load_agent
    from .._registry import choose_model
    from ._server import serve_a2a

    if len(targets) != 1:
        raise UserError("serve --a2a: give exactly one agent file (AGENT.yaml)")
    path = Path(targets[0])
    if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
        raise UserError(f"serve --a2a: {targets[0]} is not an agent file (AGENT.yaml)")
    agent = load_agent(path)
    choice = choose_model(model, agent.default_model)
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    if host not in ("127.0.0.1", "localhost", "::1") and token is None:
        print(
            f"warning: serving on {host} without a token: anyone who can reach it can run "
            f"the agent (set {TOKEN_ENV} or --token)",
            file=sys.stderr,
        )
    print(
        f"serving agent {agent.name!r} over A2A on {choice.model} ({choice.reason})",
        file=sys.stderr,
    )
    anyio.run(
        partial(
            serve_a2a,
            agent,
            host=host,
            port=port,
            token=token,
            model=choice.model,
            public_url=public_url,
        )
    )
