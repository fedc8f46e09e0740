"""Re-record Acme's cassettes: ``python -m acme_agentkit.testing [DIR]``.

The same as ``agentkit conformance acme:acme-large --mode record --record-from
emulated --wire openai-chat --cassettes tests/cassettes --level core --level
tools`` once the package is installed (its entry point names the factory);
this module passes the factory itself, so it works from a plain checkout too.
"""

from __future__ import annotations

import sys

from . import create_acme_adapter


def record_cassettes(directory: str) -> int:
    """Record the emulated run's HTTP into ``directory/acme/``; 0 when it passed."""
    import anyio

    from agentkit.conformance import check_adapter

    async def run() -> bool:
        report = await check_adapter(
            "acme:acme-large",
            mode="record",
            record_from="emulated",
            wire="openai-chat",
            factory=create_acme_adapter,
            cassettes=directory,
            levels=["core", "tools"],
        )
        print(report.summary())
        return report.ok

    return 0 if anyio.run(run) else 1


if __name__ == "__main__":
    sys.exit(record_cassettes(sys.argv[1] if len(sys.argv) > 1 else "tests/cassettes"))
