"""``agent.yaml``: the same agent as Python code, as a file checked against ``specs/``.

A file is validated against the published agent schema with ``jsonschema``
first, so a mistake is reported with the file, the JSON path and what is
wrong, in the same words for every tool that reads the schema.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._agent import Agent
from ._cascade import import_check
from ._compaction import Compaction
from ._model import ModelSettings
from ._toolrefs import resolve_tools as resolve_tools  # re-exported: agentspec uses it
from .a2a._entry import A2AAgentEntry, a2a_toolsets
from .exceptions import SpecValidationError, UserError

__all__ = ["AgentFile", "load_agent"]


_MODEL_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*:[^,]*(,\s*[a-z0-9][a-z0-9_.\-]*:[^,]*)*$"

#: ``model:`` as one string (a comma-separated chain) or a list of them, in order.
ModelChain = (
    Annotated[str, Field(pattern=_MODEL_PATTERN)]
    | Annotated[list[Annotated[str, Field(pattern=_MODEL_PATTERN)]], Field(min_length=1)]
)


class CheckEntry(BaseModel):
    """A check function of ``escalate_on``: True accepts the output, False or a reason escalates."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
        description="package.module:function, imported when the file loads",
    )


#: One ``escalate_on`` item: a condition's name or a check function.
EscalateItem = Annotated[
    Literal["invalid_output", "invalid_tool_call", "truncated"] | CheckEntry,
    Field(
        description="invalid_output, invalid_tool_call, truncated, "
        "or {check: package.module:function}"
    ),
]


class Profile(BaseModel):
    """Overrides for one environment, chosen with ``--profile`` or ``AGENTKIT_PROFILE``."""

    model_config = ConfigDict(extra="forbid")

    model: ModelChain | None = None
    models: list[str] | None = Field(default=None, min_length=1)
    escalate_on: list[EscalateItem] | None = Field(
        default=None, description="replaces the file's escalate_on; [] turns the cascade off"
    )
    settings: ModelSettings | None = None
    max_turns: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)


class MCPServerEntry(BaseModel):
    """One MCP server whose tools join the agent's: a command (stdio) or a URL (HTTP)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.\-]+$", description="prefixes its tools when names collide"
    )
    command: str | None = Field(default=None, description="program that runs a stdio server")
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="${VAR} reads the environment")
    cwd: str | None = None
    url: str | None = Field(default=None, description="streamable HTTP endpoint")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers; ${VAR} reads the environment"
    )


class AgentFile(BaseModel):
    """The ``agent.yaml`` format (published as ``specs/.../agent.schema.json``)."""

    model_config = ConfigDict(extra="forbid", title="agentkit agent file")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    instructions: str = ""
    model: ModelChain | None = Field(
        default=None,
        description="default provider:model, or a chain of them (a list, or comma-separated), "
        "used when none is given at run time",
    )
    models: list[str] | None = Field(
        default=None,
        min_length=1,
        description="a chain of provider:model tried in order on retryable failures",
    )
    escalate_on: list[EscalateItem] = Field(
        default_factory=list,
        description="makes the model chain a cascade, cheapest first: a model's answer that "
        "meets one of these moves the run to the next model",
    )
    tools: list[str] = Field(
        default_factory=list,
        description="import paths (package.module:object) or agentkit.tools entry-point names",
    )
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema 2020-12 the final answer must match"
    )
    settings: ModelSettings = Field(default_factory=ModelSettings)
    max_turns: int = Field(default=10, ge=1)
    tool_timeout: float = Field(default=60.0, gt=0)
    tool_retries: int = Field(default=2, ge=0)
    output_retries: int = Field(default=2, ge=0)
    max_cost_usd: float | None = Field(default=None, gt=0)
    allow_lossy_schemas: bool = Field(
        default=False,
        description="accept schemas a provider can only take in a changed form that "
        "accepts different values (each change is reported as a warning)",
    )
    compaction: Compaction | None = Field(
        default=None,
        description="send model calls a shorter history: keep_last_turns, summarize_with, "
        "max_tool_result_tokens (the result keeps every message)",
    )
    mcp_servers: list[MCPServerEntry] = Field(
        default_factory=list, description="MCP servers whose tools the agent may call"
    )
    a2a_agents: list[str | A2AAgentEntry] = Field(
        default_factory=list,
        description="remote A2A agents (root URLs, or {url, name, token_env}), one tool each",
    )
    mcp_config: str | None = Field(
        default=None,
        description="path (relative to this file) of an mcpServers JSON file, as desktop "
        "MCP clients use",
    )
    profiles: dict[str, Profile] = Field(
        default_factory=dict, description="named overrides, e.g. dev and prod"
    )


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate_document(document: Any, schema_name: str, source: str) -> None:
    """Check ``document`` against the published schema ``schema_name``.

    Raises:
        SpecValidationError: naming ``source``, the JSON path and the problem.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from ._specs import load_schema

    validator = Draft202012Validator(load_schema(schema_name))
    error = best_match(validator.iter_errors(document))
    if error is not None:
        message = error.message
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        if error.validator in ("anyOf", "oneOf") and described:
            # "not valid under any of the given schemas" alone does not say what is.
            message += f"; expected {described}"
        raise SpecValidationError(source, _json_path(error.absolute_path), message)


def _mcp_toolsets(spec: AgentFile, source: str, base: Path | None) -> list[Any]:
    """The agent file's MCP servers as tool sets (the MCP SDK loads only when there are any)."""
    if not spec.mcp_servers and spec.mcp_config is None:
        return []
    from .mcp._config import load_mcp_config, toolset_from_entry

    toolsets: list[Any] = []
    for entry in spec.mcp_servers:
        data = entry.model_dump(exclude_defaults=True, exclude={"name"})
        if entry.cwd is not None and base is not None:
            data["cwd"] = str(base / entry.cwd)
        toolsets.append(toolset_from_entry(entry.name, data, f"{source}: mcp_servers"))
    if spec.mcp_config is not None:
        config = Path(spec.mcp_config).expanduser()
        if not config.is_absolute() and base is not None:
            config = base / config
        toolsets.extend(load_mcp_config(config))
    return toolsets


def _apply_profile(spec: AgentFile, profile: str | None, source: str) -> AgentFile:
    if profile is None:
        return spec
    chosen = spec.profiles.get(profile)
    if chosen is None:
        known = ", ".join(sorted(spec.profiles)) or "none"
        raise UserError(f"{source}: no profile {profile!r} (profiles: {known})")
    update: dict[str, Any] = {}
    if chosen.model is not None or chosen.models is not None:
        update["model"], update["models"] = chosen.model, chosen.models
    if chosen.escalate_on is not None:
        update["escalate_on"] = chosen.escalate_on
    if chosen.settings is not None:
        update["settings"] = spec.settings.merged(chosen.settings)
    for name in ("max_turns", "max_cost_usd"):
        if getattr(chosen, name) is not None:
            update[name] = getattr(chosen, name)
    return spec.model_copy(update=update)


def agent_from_document(
    document: Any, source: str, base: Path | None = None, *, profile: str | None = None
) -> Agent:
    """Build an agent from a parsed agent file (validated first).

    Args:
        document: The parsed file.
        source: Where it came from, for error messages.
        base: The file's folder: tool modules next to it import by name.
        profile: A profile of the file's ``profiles`` to apply.
    """
    validate_document(document, "agent", source)
    spec = _apply_profile(AgentFile.model_validate(document), profile, source)
    model = ",".join(spec.model) if isinstance(spec.model, list) else spec.model
    default_model = ",".join(spec.models) if spec.models else model
    # Tools first: resolving them puts the file's folder on the import path,
    # where escalate_on's check modules are found too.
    tools = [
        *resolve_tools(spec.tools, source, base),
        *_mcp_toolsets(spec, source, base),
        *a2a_toolsets(spec.a2a_agents, source),
    ]
    escalate_on = [
        item if isinstance(item, str) else import_check(item.check, source)
        for item in spec.escalate_on
    ]
    return Agent(
        name=spec.name,
        description=spec.description,
        instructions=spec.instructions,
        tools=tools,
        output_schema=spec.output_schema,
        settings=spec.settings,
        max_turns=spec.max_turns,
        default_model=default_model,
        tool_timeout=spec.tool_timeout,
        tool_retries=spec.tool_retries,
        output_retries=spec.output_retries,
        max_cost_usd=spec.max_cost_usd,
        allow_lossy_schemas=spec.allow_lossy_schemas,
        escalate_on=escalate_on,
        compaction=spec.compaction,
    )


def load_agent(path: str | Path, *, profile: str | None = None) -> Agent:
    """Load and validate an ``agent.yaml`` (or ``.json``) file.

    Args:
        path: The file.
        profile: A profile from the file's ``profiles`` to apply; defaults to
            the ``AGENTKIT_PROFILE`` variable.

    Raises:
        SpecValidationError: the file does not match the agent schema.
        UserError: the file cannot be read or a tool cannot be imported.
    """
    import yaml

    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read agent file {file}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"agent file {file} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start} cannot be decoded; save it as UTF-8"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecValidationError(str(file), "$", f"not valid YAML: {exc}") from exc
    profile = profile or os.environ.get("AGENTKIT_PROFILE") or None
    return agent_from_document(document, str(file), file.resolve().parent, profile=profile)
