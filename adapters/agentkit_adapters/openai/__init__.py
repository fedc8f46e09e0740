"""OpenAI adapters (placeholder until the Chat Completions adapter lands)."""
