"""The ``vertex`` entry point: ``vertex:gemini-2.5-flash``, ``vertex:claude-sonnet-4-5@20250929``.

How the options and the environment decide (options always win; the
variables are those google-genai reads, with its precedence):

- ``project`` / ``location``: else ``GOOGLE_CLOUD_PROJECT`` /
  ``GOOGLE_CLOUD_LOCATION``; the location defaults to ``global``, the project
  to the one the credentials name.
- auth: ``credentials`` (google-auth credentials of yours), else an
  ``api_key`` (express mode), else Application Default Credentials. The
  environment supplies a key only when ``GOOGLE_GENAI_USE_VERTEXAI`` is
  ``true``/``1`` *and* no project is configured: then ``GOOGLE_API_KEY``,
  else ``GEMINI_API_KEY``, is an express-mode key (a project set in the
  environment wins over a key set there, as in google-genai, because a
  ``GOOGLE_API_KEY`` alone is usually a Gemini API key, which Vertex refuses).
- ``base_url``: else ``GOOGLE_VERTEX_BASE_URL``, else the location's host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import httpx2

from agentkit.exceptions import UserError

from ._adapter import VertexAdapter, VertexClaudeAdapter, VertexGeminiAdapter
from ._auth import GoogleAuth
from ._endpoint import split_publisher

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["SERVICE_TIER_HEADER", "create_vertex_adapter"]

#: The request header that asks for Flex or Priority PayGo (answers say which
#: in ``usageMetadata.trafficType``: ``ON_DEMAND_FLEX``, case ``gemini_flex_tier_stream_global``).
SERVICE_TIER_HEADER = "X-Vertex-AI-LLM-Shared-Request-Type"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def create_vertex_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
    project: str | None = None,
    location: str | None = None,
    credentials: Credentials | None = None,
    service_tier: Literal["flex", "priority"] | None = None,
) -> VertexAdapter:
    """The ``vertex`` entry point: Gemini or Claude models on Google Cloud's Vertex AI.

    ``claude-*`` ids (or an ``anthropic/`` prefix) go to Anthropic's models
    through ``:rawPredict``, every other id to Google's through
    ``:generateContent``. See the module docstring for the environment.

    Args:
        model_id: The model named after ``vertex:``.
        base_url: The host, without a version (``/v1beta1`` or ``/v1`` is added).
        api_key: A Vertex express-mode key (Gemini only; no project then).
        headers: Extra request headers.
        http_client: A client of your own instead of the shared pool.
        project: The Google Cloud project.
        location: The location (``us-central1``, ``europe-west4``, ``global``).
        credentials: google-auth credentials to use instead of the default ones.
        service_tier: ``flex`` or ``priority`` PayGo (sent as
            ``X-Vertex-AI-LLM-Shared-Request-Type``; Flex needs the global location).

    Returns:
        The adapter.

    Raises:
        UserError: no model is named, the options contradict each other,
            express mode is asked for Claude, or google-auth is missing.
    """
    if not model_id:
        raise UserError(
            "no Vertex AI model named: write it as vertex:<model>, e.g. vertex:gemini-2.5-flash"
        )
    if api_key and credentials is not None:
        raise UserError("vertex: pass either api_key (express mode) or credentials, not both")
    if api_key and project:
        raise UserError("vertex: an express-mode api_key takes no project; pass one or the other")
    publisher, model = split_publisher(model_id)
    project = project or (None if api_key else os.environ.get("GOOGLE_CLOUD_PROJECT"))
    location = location or os.environ.get("GOOGLE_CLOUD_LOCATION")
    key_variable: str | None = None
    express = _truthy(os.environ.get("GOOGLE_GENAI_USE_VERTEXAI"))
    if express and not api_key and credentials is None and not project:
        for variable in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
            api_key = os.environ.get(variable)
            if api_key:
                key_variable = variable
                break
    if api_key and publisher == "anthropic":
        raise UserError(
            f"vertex:{model_id}: Claude on Vertex needs a project and Google credentials; "
            "express-mode API keys serve Gemini models only (set GOOGLE_CLOUD_PROJECT)"
        )
    extra = dict(headers or {})
    if service_tier is not None:
        extra.setdefault(SERVICE_TIER_HEADER, service_tier)
    auth = None if api_key else GoogleAuth(credentials, model_id=model)
    cls = VertexClaudeAdapter if publisher == "anthropic" else VertexGeminiAdapter
    return cls(
        model,
        project=project,
        location=location,
        base_url=base_url or os.environ.get("GOOGLE_VERTEX_BASE_URL") or None,
        auth=auth,
        api_key=api_key,
        key_variable=key_variable,
        headers=extra,
        client=http_client,
    )
