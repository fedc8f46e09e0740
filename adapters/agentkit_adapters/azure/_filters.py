"""Azure's content filter results, read into agentkit's neutral terms: pure functions.

Azure OpenAI runs every prompt and answer through its content filter and
reports the verdict beside the OpenAI fields (real-traffic cases under
``tests/fixtures/real_traffic/azure_openai``):

- Chat: ``prompt_filter_results[{prompt_index, content_filter_results}]`` at the
  top level (in a stream: alone in a first chunk with ``choices: []``) and
  ``choices[].content_filter_results`` (``{}`` on role and finish chunks).
- Responses: a top-level ``content_filters`` array (``blocked``,
  ``source_type`` prompt or completion, ``content_filter_results``).
- A category is ``{filtered, severity}`` (hate, sexual, violence, self_harm)
  or ``{filtered, detected}`` (jailbreak, protected material); an
  ``error`` entry says the filter could not run.

A blocked prompt is an HTTP 400 ``content_filter`` whose ``innererror``
(``ResponsibleAIPolicyViolation``) holds the results; a blocked answer is
``finish_reason: "content_filter"`` (case
``content_filter_finish_reason_completion``, with no ``message`` at all).
Both become a ``ContentFilterError`` naming the categories. An answer that
passed keeps its annotations as a warning when the filter found anything
(a severity above ``safe``, a detection, an error); an all-clear verdict
carries nothing to report and adds none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentkit.adapter import RunWarning, map_http_error
from agentkit.exceptions import ContentFilterError, ModelNotFoundError, ProviderHTTPError

__all__ = [
    "blocked_categories",
    "content_filter_error",
    "filter_findings",
    "filter_warning",
    "map_azure_error",
]


def _categories(results: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    if not isinstance(results, Mapping):
        return ()
    return ((k, v) for k, v in results.items() if isinstance(v, Mapping))


def _describe(name: str, verdict: Mapping[str, Any]) -> str:
    if "severity" in verdict:
        return f"{name} (severity {verdict['severity']})"
    if verdict.get("detected"):
        return f"{name} (detected)"
    return name


def blocked_categories(results: Any) -> list[str]:
    """The categories a ``content_filter_results`` object filtered, with their severity.

    Args:
        results: One ``content_filter_results`` (or ``innererror.content_filter_result``).

    Returns:
        E.g. ``["hate (severity high)"]``; empty when nothing was filtered.
    """
    return [_describe(name, v) for name, v in _categories(results) if v.get("filtered") is True]


def filter_findings(results: Any) -> list[str]:
    """What the filter found but let through: severities above ``safe``, detections, errors."""
    found = []
    for name, verdict in _categories(results):
        if verdict.get("filtered") is True:
            continue
        if name == "error":
            found.append(f"the filter did not run ({verdict.get('message') or verdict})")
        elif verdict.get("severity") not in (None, "safe") or verdict.get("detected") is True:
            found.append(_describe(name, verdict))
    return found


def filter_warning(findings: Mapping[str, list[str]], provider: str) -> list[RunWarning]:
    """One ``other`` warning listing the findings by where they were (prompt, answer)."""
    listed = "; ".join(f"{where}: {', '.join(f)}" for where, f in findings.items() if f)
    if not listed:
        return []
    message = f"Azure's content filter annotated but did not block the {listed}"
    return [RunWarning(kind="other", feature="content_filter", provider=provider, message=message)]


def content_filter_error(
    provider: str,
    model_id: str,
    where: str,
    results: Any,
    *,
    status: int = 200,
    body: Any = None,
) -> ContentFilterError:
    """The error for a blocked prompt or answer, naming what was filtered.

    Args:
        provider: Provider name for the error.
        model_id: The model asked.
        where: ``"prompt"`` or ``"answer"``.
        results: The ``content_filter_results`` that blocked it.
        status: The HTTP status (400 for a prompt, 200 for an answer).
        body: The wire body, kept on the error.

    Returns:
        The exception (the caller raises it).
    """
    categories = ", ".join(blocked_categories(results)) or "no category named"
    return ContentFilterError(
        f"Azure's content filter blocked the {where}: {categories} "
        "(rephrase it, or review the deployment's content filter configuration)",
        provider=provider,
        model_id=model_id,
        status_code=status,
        body=body,
        code="content_filter",
    )


def map_azure_error(
    provider: str,
    model_id: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    deployment: str,
    key_variable: str | None = None,
    base_url: str | None = None,
) -> ProviderHTTPError:
    """An Azure error status to agentkit's tree: ``map_http_error`` plus two rules.

    A ``content_filter`` 400 names the filtered categories from its
    ``innererror``; a ``DeploymentNotFound`` 404 (sent with no Content-Type,
    case ``error_404_deployment_not_found``) names the deployment rather than
    the model.
    """
    error = map_http_error(
        provider, model_id, status, headers, body, key_variable=key_variable, base_url=base_url
    )
    wire = error.body.get("error") if isinstance(error.body, dict) else None
    if not isinstance(wire, dict):
        return error
    inner = wire.get("innererror")
    if wire.get("code") == "content_filter" or (
        isinstance(inner, dict) and inner.get("code") == "ResponsibleAIPolicyViolation"
    ):
        results = inner.get("content_filter_result") if isinstance(inner, dict) else None
        return content_filter_error(
            provider, model_id, "prompt", results, status=status, body=error.body
        )
    if wire.get("code") == "DeploymentNotFound":
        return ModelNotFoundError(
            f"deployment {deployment!r} not found at {base_url}: {wire.get('message')} "
            "(check the deployment name in the Azure portal, and AZURE_OPENAI_ENDPOINT)",
            provider=provider,
            model_id=model_id,
            status_code=status,
            body=error.body,
            code="DeploymentNotFound",
        )
    return error
