"""Provider adapters for agentkit, each a thin httpx2 client plus pure conversion functions."""

__all__: list[str] = []
