"""Where a Vertex AI model lives: hosts and model URLs, as pure functions.

The shapes (all seen in ``tests/fixtures/real_traffic/vertex``, and the same as
google-genai builds them):

- regional: ``https://{location}-aiplatform.googleapis.com``; the ``global``
  location (and express mode) is ``https://aiplatform.googleapis.com``; the
  ``us`` multi-region is ``https://aiplatform.us.rep.googleapis.com``;
- a model: ``{host}/{version}/projects/{project}/locations/{location}/``
  ``publishers/{publisher}/models/{model}``, or, in express mode (an API key, no project),
  ``{host}/{version}/publishers/{publisher}/models/{model}``;
- Gemini is asked on ``v1beta1`` (what google-genai and every Gemini recording
  use: ``streamFunctionCallArguments`` and the newest fields are there first)
  with ``:generateContent`` / ``:streamGenerateContent?alt=sse``; Claude on
  ``v1`` with ``:rawPredict`` / ``:streamRawPredict`` (cases ``claude_*``).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "CLAUDE_API_VERSION",
    "GEMINI_API_VERSION",
    "Publisher",
    "split_publisher",
    "vertex_host",
    "vertex_model_url",
]

#: The version path Gemini models are asked on.
GEMINI_API_VERSION = "v1beta1"
#: The version path Claude models are asked on.
CLAUDE_API_VERSION = "v1"

Publisher = Literal["google", "anthropic"]

_VERSIONED = re.compile(r"/v1(?:alpha|beta)?\d*$")
_PUBLISHER = re.compile(r"^(?:publishers/)?(google|anthropic)/(?:models/)?")


def vertex_host(location: str | None) -> str:
    """The API host of a location; None (express mode) and ``global`` share one.

    Args:
        location: ``us-central1``, ``europe-west4``, ``global``, ``us``...
    """
    if location is None or location == "global":
        return "https://aiplatform.googleapis.com"
    if location == "us":
        return "https://aiplatform.us.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def split_publisher(model_id: str) -> tuple[Publisher, str]:
    """``(publisher, model)`` for a model id: ``claude-*`` is Anthropic's, the rest Google's.

    A ``google/`` or ``anthropic/`` prefix (or ``publishers/X/models/``) names
    the publisher explicitly and is taken off.
    """
    match = _PUBLISHER.match(model_id)
    if match is not None:
        publisher: Publisher = "anthropic" if match.group(1) == "anthropic" else "google"
        return publisher, model_id[match.end() :]
    return ("anthropic" if model_id.startswith("claude") else "google"), model_id


def vertex_model_url(
    root: str,
    *,
    publisher: Publisher,
    model: str,
    project: str | None,
    location: str | None,
    version: str,
) -> str:
    """The model's resource URL (append ``:method``).

    Args:
        root: The host (``vertex_host``) or a base URL of your own; a root that
            already ends with a version (``.../v1``) keeps it.
        publisher: ``google`` or ``anthropic``.
        model: The model id, e.g. ``gemini-2.5-flash`` or ``claude-sonnet-4-5@20250929``.
        project: The Google Cloud project; None is express mode (no project path).
        location: The location (required with a project).
        version: The version path to add when ``root`` has none.
    """
    root = root.rstrip("/")
    versioned = root if _VERSIONED.search(root) else f"{root}/{version}"
    resource = f"publishers/{publisher}/models/{model}"
    if project is None:
        return f"{versioned}/{resource}"
    return f"{versioned}/projects/{project}/locations/{location or 'global'}/{resource}"
