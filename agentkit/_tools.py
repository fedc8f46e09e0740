"""Tools: typed Python functions the model can call, and tool sets.

``@tool`` reads a function's signature and docstring into an MCP-shaped
``ToolDefinition``. A ``Toolset`` is anything that can list tools and call
one by name; ``@tool`` functions, MCP servers and agents all are, which is
what makes serving and consuming MCP the same code.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Protocol,
    get_type_hints,
    overload,
    runtime_checkable,
)

from .exceptions import ToolError, UserError

if TYPE_CHECKING:
    import json

    import anyio
    from jsonschema.protocols import Validator
    from pydantic import BaseModel, TypeAdapter, ValidationError

    from ._messages import AudioPart, ImagePart, ResourcePart, TextPart, ToolResultPart
    from ._model import ToolDefinition
    from ._threads import run_in_worker
    from ._trusted import build, trusted

__all__ = ["FunctionToolset", "Tool", "Toolset", "tool"]

#: Whether ``_load`` has bound the names above.
_loaded = False


def _load() -> None:
    """Bind pydantic, anyio and the message models as this module's names.

    ``from agentkit import tool`` (and ``Agent``, which checks its tools with
    ``Tool`` and ``Toolset``) loads none of them: they are bound the first time
    a tool is built or an error result made, which every method that uses them
    comes after. Module names, not imports inside the methods: an import in a
    function costs about 1.4 microseconds a call on Python 3.11, and ``Tool.run``
    and ``to_result`` run for every tool call.
    """
    global _loaded
    import json

    import anyio
    from pydantic import TypeAdapter, ValidationError

    from ._messages import AudioPart, ImagePart, ResourcePart, TextPart, ToolResultPart
    from ._model import ToolDefinition
    from ._threads import run_in_worker
    from ._trusted import build, trusted

    globals().update(
        json=json,
        anyio=anyio,
        TypeAdapter=TypeAdapter,
        ValidationError=ValidationError,
        AudioPart=AudioPart,
        ImagePart=ImagePart,
        ResourcePart=ResourcePart,
        TextPart=TextPart,
        ToolResultPart=ToolResultPart,
        ToolDefinition=ToolDefinition,
        run_in_worker=run_in_worker,
        build=build,
        trusted=trusted,
        ContentBlockTypes=(TextPart, ImagePart, AudioPart, ResourcePart, ToolResultPart),
    )
    _loaded = True


@runtime_checkable
class Toolset(Protocol):
    """Anything that offers tools: ``@tool`` functions, an MCP server, an agent.

    Optional extras the runner uses when present: a ``name`` (prefixes its
    tools when names collide), ``__aenter__``/``__aexit__`` (opened for the
    run), and ``drain_warnings() -> list[RunWarning]`` (things the user should
    see in the run's result, collected after each round of tool calls).
    """

    async def list_tools(self) -> list[ToolDefinition]:
        """The tools on offer."""
        ...

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        """Call tool ``name``; the result's ``call_id`` is left for the caller to set."""
        ...


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)(?:\s*\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and ``Args:`` entries."""
    if not doc:
        return "", {}
    summary: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    arg_indent = 0
    for line in inspect.cleandoc(doc).splitlines():
        if _ARGS_HEADER.match(line):
            section, current = "args", None
        elif _SECTION.match(line) and not line.startswith(" "):
            section = "other"
        elif section == "summary":
            summary.append(line)
        elif section == "args":
            indent = len(line) - len(line.lstrip())
            match = _ARG_LINE.match(line)
            if match and (current is None or indent <= arg_indent):
                current, arg_indent = match.group(1), indent
                args[current] = match.group(2).strip()
            elif current and line.strip():
                args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def _strip_titles(schema: Any) -> Any:
    # pydantic titles every property ("City"); they cost tokens and say nothing.
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {k: _strip_titles(v) for k, v in value.items()}
            else:
                out[key] = _strip_titles(value)
        return out
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def _is_structured(annotation: Any) -> bool:
    if annotation in (inspect.Signature.empty, None, type(None), str, Any):
        return False
    return not (isinstance(annotation, type) and issubclass(annotation, ContentBlockTypes))


if TYPE_CHECKING:
    ContentBlockTypes = (TextPart, ImagePart, AudioPart, ResourcePart, ToolResultPart)


class Tool:
    """A Python function the model can call.

    Build one with ``@tool``. Calling ``run`` validates the arguments against
    the input schema (once; rejected arguments are described by ``jsonschema``),
    calls the function (sync functions run in a worker thread so they cannot
    block the event loop) under the timeout,
    and returns an MCP-shaped result. Failures become error results.

    Attributes:
        definition: The MCP-shaped definition the model sees.
        function: The wrapped function.
        timeout: Seconds one call may take, or None for the agent's default.
        retries: Failed calls allowed per run before the run stops, or None
            for the agent's default.
        idempotent: Whether calling again with the same arguments has no
            further effect (MCP's ``idempotentHint``); None when unsaid.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        annotations: dict[str, Any] | None = None,
        blocking: bool | None = None,
        idempotent: bool | None = None,
        localns: dict[str, Any] | None = None,
    ) -> None:
        if retries is not None and retries < 0:
            raise UserError(f"tool {function.__name__}: retries must be 0 or more")
        if idempotent is not None:
            # One flag, kept where MCP clients read it: served tools say it too.
            said = (annotations or {}).get("idempotentHint", idempotent)
            if said != idempotent:
                raise UserError(
                    f"tool {function.__name__}: idempotent={idempotent} contradicts "
                    f"annotations idempotentHint={said}"
                )
            annotations = {**(annotations or {}), "idempotentHint": idempotent}
        if not _loaded:
            _load()
        from pydantic import create_model
        from pydantic.fields import FieldInfo

        self.function = function
        self.timeout = timeout
        self.retries = retries
        self.idempotent = idempotent
        self._is_async = inspect.iscoroutinefunction(function)
        # A sync function may block (files, sockets, sleep): by default it runs in a
        # worker thread so other runs and tools keep going. blocking=False runs a
        # quick pure function inline and saves the thread hop.
        self._in_thread = not self._is_async and blocking is not False
        summary, arg_docs = parse_docstring(function.__doc__)
        signature = inspect.signature(function)
        hints = get_type_hints(function, localns=localns, include_extras=True)
        fields: dict[str, Any] = {}
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise UserError(f"tool {function.__name__}: *args and **kwargs cannot be described")
            annotation = hints.get(param.name, Any)
            default = ... if param.default is param.empty else param.default
            info = FieldInfo.from_annotated_attribute(annotation, default)
            if info.description is None and param.name in arg_docs:
                info.description = arg_docs[param.name]
            fields[param.name] = (info.annotation, info)
        self._args_model: type[BaseModel] = create_model(f"{function.__name__}_arguments", **fields)
        input_schema = _strip_titles(self._args_model.model_json_schema())
        input_schema.setdefault("properties", {})
        return_type = hints.get("return", inspect.Signature.empty)
        self._wrap_result = False
        output_schema: dict[str, Any] | None = None
        self._return_adapter: TypeAdapter[Any] | None = None
        if _is_structured(return_type):
            self._return_adapter = TypeAdapter(return_type)
            schema = _strip_titles(self._return_adapter.json_schema(mode="serialization"))
            if schema.get("type") == "object":
                output_schema = schema
            else:
                # MCP's structuredContent must be an object: wrap other values.
                self._wrap_result = True
                defs = schema.pop("$defs", None)
                output_schema = {
                    "type": "object",
                    "properties": {"result": schema},
                    "required": ["result"],
                }
                if defs:
                    output_schema["$defs"] = defs
        self.definition = ToolDefinition(
            name=name or function.__name__,
            title=title,
            description=description if description is not None else (summary or None),
            input_schema=input_schema,
            output_schema=output_schema,
            annotations=annotations,
        )
        self._validator: Validator | None = None

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.definition.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly, as if undecorated."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def validator(self) -> Validator:
        """The compiled ``jsonschema`` validator of the input schema (built once)."""
        if self._validator is None:
            from jsonschema import Draft202012Validator

            self._validator = Draft202012Validator(self.definition.input_schema)
        return self._validator

    def check_arguments(self, arguments: dict[str, Any]) -> str | None:
        """Why ``arguments`` do not fit the input schema, or None when they do."""
        errors = sorted(self.validator().iter_errors(arguments), key=lambda e: list(e.path))
        if not errors:
            return None
        return "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or 'arguments'}: {e.message}"
            for e in errors[:5]
        )

    async def run(
        self,
        arguments: dict[str, Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the agent's default, applied inside
    ) -> ToolResultPart:
        """Validate ``arguments``, call the function and return its result.

        Raises nothing for a failing tool: invalid arguments, a timeout and any
        exception inside the function become a result with ``is_error`` set.
        """
        # Validated once on the way that succeeds: pydantic parses the arguments
        # into the function's types; only arguments it rejects pay for the
        # jsonschema pass, whose messages name each bad field the way the model
        # sees the schema.
        try:
            # model_validate's own call, without its frame (a quarter of this method).
            parsed = self._args_model.__pydantic_validator__.validate_python(arguments)
        except ValidationError as exc:
            problem = self.check_arguments(arguments) or str(exc)
            return error_result(f"Invalid arguments for tool {self.name}: {problem}")
        # The fields' values, in order: what getattr gives for each (extra arguments
        # are ignored, never kept, so nothing else is in there).
        kwargs = parsed.__dict__
        limit = timeout if self.timeout is None else self.timeout
        try:
            if not self._is_async and not self._in_thread:
                # Inline on the loop: no timeout can interrupt it, so no scope.
                value = self.function(**kwargs)
            elif self._in_thread:
                # The worker's hand-off keeps the time itself (no cancel scope).
                function = self.function
                value = await run_in_worker(lambda: function(**kwargs), timeout=limit)
            elif limit is None:
                value = await self._call(kwargs)
            else:
                with anyio.fail_after(limit):
                    value = await self._call(kwargs)
        except TimeoutError:
            return error_result(f"Tool {self.name} timed out after {limit} seconds")
        except ToolError as exc:
            return error_result(str(exc))
        except Exception as exc:
            return error_result(f"Tool {self.name} failed: {type(exc).__name__}: {exc}")
        return self.to_result(value)

    async def _call(self, kwargs: dict[str, Any]) -> Any:
        return await self.function(**kwargs)

    def to_result(self, value: Any) -> ToolResultPart:
        """Turn the function's return value into an MCP-shaped result."""
        name = self.name
        if type(value) is str and self._return_adapter is None and type(name) is str:
            # The common result, text: a str needs no validation (tests/test_trusted.py).
            part = trusted(TextPart, {"type": "text", "text": value}, {"text"})
            values: dict[str, Any] = {"type": "tool_result", "call_id": "", "name": name}
            values["content"] = [part]
            values.update(_RESULT_DEFAULTS)
            return trusted(ToolResultPart, values, {"call_id", "name", "content"})
        if isinstance(value, ToolResultPart):
            return value
        if isinstance(value, TextPart | ImagePart | AudioPart | ResourcePart):
            return ToolResultPart(call_id="", name=self.name, content=[value])
        if self._return_adapter is not None:
            data = self._return_adapter.dump_python(value, mode="json")
            structured = {"result": data} if self._wrap_result else data
            return ToolResultPart(
                call_id="",
                name=self.name,
                content=[TextPart(text=json.dumps(data, ensure_ascii=False))],
                structured_content=structured,
            )
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(TypeAdapter(Any).dump_python(value, mode="json"), ensure_ascii=False)
        if type(text) is str and type(self.name) is str:
            # The common result, text: a str needs no validation (tests/test_trusted.py).
            part = trusted(TextPart, {"type": "text", "text": text}, {"text"})
            return build(ToolResultPart, call_id="", name=self.name, content=[part])
        return ToolResultPart(call_id="", name=self.name, content=[TextPart(text=text)])


#: The fields of a text tool result after its content, at their defaults.
_RESULT_DEFAULTS = {"structured_content": None, "is_error": False}


def error_result(message: str, *, name: str | None = None) -> ToolResultPart:
    """A tool result that tells the model what went wrong."""
    if not _loaded:
        _load()
    return ToolResultPart(call_id="", name=name, content=[TextPart(text=message)], is_error=True)


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    title: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    annotations: dict[str, Any] | None = None,
    blocking: bool | None = None,
    idempotent: bool | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    title: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    annotations: dict[str, Any] | None = None,
    blocking: bool | None = None,
    idempotent: bool | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function (sync or async) into a tool.

    The input schema comes from the parameters' type hints and the docstring's
    ``Args:`` section; an output schema comes from a structured return type
    (a pydantic model, dataclass, TypedDict, list, number, ...).

    Args:
        function: The function, when used as a bare ``@tool``.
        name: Tool name; defaults to the function's name.
        title: Human-readable title (MCP ``title``).
        description: Defaults to the docstring's summary.
        timeout: Seconds one call may take.
        retries: Failed calls (errors, invalid arguments) allowed per run
            before the run stops with ``ToolRetriesError``; defaults to the
            agent's ``tool_retries``.
        annotations: MCP tool annotations, like ``{"readOnlyHint": True}``.
        blocking: For a sync function: False runs it inline on the event loop
            (for quick pure functions); by default it runs in a worker thread.
        idempotent: False marks a tool that must not run twice for one call
            (it pays, sends, books): a durable run whose process died during
            its call stops with ``ToolNotRepeatableError`` instead of calling
            it again. Sets MCP's ``idempotentHint`` annotation.

    Returns:
        A ``Tool``, still callable like the function.
    """

    # Names defined next to the decorated function (a model class inside a test
    # or a function body) resolve through the caller's locals.
    localns = sys._getframe(1).f_locals

    def wrap(fn: Callable[..., Any]) -> Tool:
        return Tool(
            fn,
            name=name,
            title=title,
            description=description,
            timeout=timeout,
            retries=retries,
            annotations=annotations,
            blocking=blocking,
            idempotent=idempotent,
            localns=localns,
        )

    return wrap(function) if function is not None else wrap


class FunctionToolset:
    """A tool set of ``@tool`` functions (plain functions are wrapped).

    A subclass may override ``call_tool`` (to log, authorise or rewrite
    calls): the runner then calls it for every call. Without an override it
    runs the tool directly and saves the hop.
    """

    def __init__(self, tools: Sequence[Tool | Callable[..., Any]] = ()) -> None:
        self.tools: dict[str, Tool] = {}
        for item in tools:
            t = item if isinstance(item, Tool) else Tool(item)
            if t.name in self.tools:
                raise UserError(f"two tools are named {t.name!r}")
            self.tools[t.name] = t

    async def list_tools(self) -> list[ToolDefinition]:
        """The definitions of every tool."""
        return self.definitions()

    def definitions(self) -> list[ToolDefinition]:
        """The definitions of every tool, without a coroutine (what ``list_tools`` returns)."""
        return [t.definition for t in self.tools.values()]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        """Run tool ``name``; an unknown name is an error result."""
        found = self.tools.get(name)
        if found is None:
            return error_result(f"Unknown tool {name!r}. Available tools: {', '.join(self.tools)}")
        return await found.run(arguments)
