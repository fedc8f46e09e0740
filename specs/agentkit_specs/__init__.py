"""agentkit's published JSON Schemas and conformance scenarios, as package data.

The schemas are generated from agentkit's models (``python -m agentkit._specs``)
and checked in; ``schemas/`` holds one ``NAME.schema.json`` per document kind.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

__all__ = ["schemas_dir"]


def schemas_dir() -> Traversable:
    """The folder holding the ``*.schema.json`` files."""
    return resources.files(__name__) / "schemas"
