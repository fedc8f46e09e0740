"""Ready tool sets for agentkit agents, each servable as an MCP server."""

__all__: list[str] = []
