"""The seams between our distributions hold: nobody reaches into another's private modules.

``agentkit_adapters``, ``agentkit_tools`` and the examples are written the way
a third party's package would be: against ``agentkit``'s public modules only.
If they need something private, a third party needs it too, and it belongs
behind a public name (``agentkit.adapter`` for adapter authors). The runtime,
in turn, does not lean on its plug-ins' internals, and never writes the
process environment (options are passed, not planted in ``os.environ``).

The checks parse the source with ``ast``, so they see every import (also the
ones inside functions) without importing anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The modules of ``agentkit`` a package of another distribution may import.
PUBLIC_MODULES = frozenset(
    {
        "agentkit",
        "agentkit.adapter",
        "agentkit.conformance",
        "agentkit.exceptions",
        "agentkit.mcp",
        "agentkit.testing",
    }
)

#: Trees written as if by a third party.
CONSUMERS = ("adapters", "tools", "examples")

#: Our plug-in distributions, whose private modules the runtime must not import.
PLUGINS = ("agentkit_adapters", "agentkit_tools")

#: Nothing is exempt: the conformance kit configures adapters through their
#: factories' options now, so no file of the runtime needs a plug-in's private
#: module or writes the environment.
PLUGIN_IMPORT_EXEMPT: tuple[str, ...] = ()
ENVIRON_WRITE_EXEMPT: tuple[str, ...] = ()


def _python_files(*trees: str) -> Iterator[Path]:
    for tree in trees:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if ".venv" not in path.parts and "__pycache__" not in path.parts:
                yield path


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT).as_posix()}:{getattr(node, 'lineno', '?')}"


def _imports(tree: ast.AST) -> Iterator[tuple[ast.AST, str, list[str]]]:
    """(node, absolute module, names taken from it) for every absolute import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module, [alias.name for alias in node.names]


def _private_part(module: str) -> str | None:
    return next((part for part in module.split(".") if part.startswith("_")), None)


def private_agentkit_imports(path: Path, source: str) -> list[str]:
    """Where ``source`` imports a private ``agentkit`` module, or a public one's private name."""
    found = []
    for node, module, names in _imports(ast.parse(source, str(path))):
        if module.split(".")[0] != "agentkit":
            continue
        if _private_part(module) or module not in PUBLIC_MODULES:
            found.append(f"{_where(path, node)}: imports {module} (not a public agentkit module)")
            continue
        for name in names:
            if name.startswith("_"):
                found.append(f"{_where(path, node)}: imports the private name {name} from {module}")
    return found


def private_plugin_imports(path: Path, source: str) -> list[str]:
    """Where ``source`` imports a private module of ``agentkit_adapters`` or ``agentkit_tools``."""
    found = []
    for node, module, names in _imports(ast.parse(source, str(path))):
        if module.split(".")[0] not in PLUGINS:
            continue
        if _private_part(module):
            found.append(f"{_where(path, node)}: imports the private module {module}")
        for name in names:
            if name.startswith("_"):
                found.append(f"{_where(path, node)}: imports the private name {name} from {module}")
    return found


_ENVIRON_MUTATORS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "__setitem__"})


def environ_writes(path: Path, source: str) -> list[str]:
    """Where ``source`` writes the process environment (``os.environ`` or ``os.putenv``)."""
    tree = ast.parse(source, str(path))
    # Names bound to os.environ / os.putenv by "from os import environ as env".
    environ_names = {"os.environ"}
    putenv_names = {"os.putenv", "os.unsetenv"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name == "environ":
                    environ_names.add(alias.asname or alias.name)
                elif alias.name in ("putenv", "unsetenv"):
                    putenv_names.add(alias.asname or alias.name)

    def is_environ(node: ast.AST) -> bool:
        return ast.unparse(node) in environ_names

    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            if isinstance(target, ast.Subscript) and is_environ(target.value):
                found.append(f"{_where(path, node)}: writes {ast.unparse(target)}")
            elif is_environ(target):
                found.append(f"{_where(path, node)}: rebinds {ast.unparse(target)}")
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in _ENVIRON_MUTATORS
                and is_environ(func.value)
            ):
                found.append(f"{_where(path, node)}: calls {ast.unparse(func)}")
            if ast.unparse(func) in putenv_names:
                found.append(f"{_where(path, node)}: calls {ast.unparse(func)}")
    return found


def _exempt(path: Path, prefixes: tuple[str, ...]) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in prefixes)


def test_adapters_tools_and_examples_import_only_public_agentkit_names() -> None:
    found = [
        line
        for path in _python_files(*CONSUMERS)
        for line in private_agentkit_imports(path, path.read_text(encoding="utf-8"))
    ]
    assert not found, "private agentkit imports:\n" + "\n".join(found)


def test_the_runtime_imports_no_private_module_of_our_plugins() -> None:
    found = [
        line
        for path in _python_files("agentkit")
        if not _exempt(path, PLUGIN_IMPORT_EXEMPT)
        for line in private_plugin_imports(path, path.read_text(encoding="utf-8"))
    ]
    assert not found, "the runtime reaches into a plug-in:\n" + "\n".join(found)


def test_the_runtime_never_writes_the_environment() -> None:
    found = [
        line
        for path in _python_files("agentkit")
        if not _exempt(path, ENVIRON_WRITE_EXEMPT)
        for line in environ_writes(path, path.read_text(encoding="utf-8"))
    ]
    assert not found, "the runtime writes os.environ:\n" + "\n".join(found)


def test_the_trees_checked_are_not_empty() -> None:
    # A moved folder must not turn the checks above into checks of nothing.
    for tree in (*CONSUMERS, "agentkit"):
        assert len(list(_python_files(tree))) > 3, tree


# The checkers themselves, on small sources: each finds what it must, no more.

FAKE = ROOT / "adapters" / "fake.py"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from agentkit._stream import response_events\n",
            "adapters/fake.py:1: imports agentkit._stream",
        ),
        ("import agentkit._framing\n", "adapters/fake.py:1: imports agentkit._framing"),
        ("def f():\n    from agentkit._model import Capabilities\n", "adapters/fake.py:2:"),
        ("from agentkit.testing._replay import x\n", "imports agentkit.testing._replay"),
        (
            "from agentkit.adapter import _private\n",
            "the private name _private from agentkit.adapter",
        ),
        ("from agentkit import _cost\n", "the private name _cost from agentkit"),
        ("from agentkit.cli import main\n", "imports agentkit.cli (not a public"),
    ],
)
def test_private_agentkit_imports_are_found(source: str, expected: str) -> None:
    found = private_agentkit_imports(FAKE, source)
    assert len(found) == 1, found
    assert expected in found[0]


def test_public_agentkit_imports_pass() -> None:
    source = (
        "import agentkit\n"
        "from agentkit import Agent, tool\n"
        "from agentkit.adapter import SSEDecoder, compile_schema\n"
        "from agentkit.exceptions import UserError\n"
        "from .._http import shared_client\n"
        "from ._convert import _helper\n"
        "import agentkit_adapters._http\n"
    )
    assert private_agentkit_imports(FAKE, source) == []


def test_private_plugin_imports_are_found() -> None:
    source = (
        "from agentkit_adapters._http import transport_override\n"
        "import agentkit_tools._base\n"
        "from agentkit_adapters.openai._adapter import OpenAIChatAdapter\n"
        "from agentkit_adapters.openai import _convert\n"
        "from agentkit_adapters.openai import OpenAIChatAdapter\n"
        "from agentkit._stream import response_events\n"
    )
    found = private_plugin_imports(ROOT / "agentkit" / "fake.py", source)
    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4"], found


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.environ['A'] = '1'\n",
        "import os\nos.environ['A'] += '1'\n",
        "import os\ndel os.environ['A']\n",
        "import os\nos.environ.update(A='1')\n",
        "import os\nos.environ.setdefault('A', '1')\n",
        "import os\nos.environ.pop('A', None)\n",
        "import os\nos.putenv('A', '1')\n",
        "import os\nos.environ = {}\n",
        "from os import environ\nenviron['A'] = '1'\n",
        "from os import environ as env\nenv.update(A='1')\n",
        "from os import putenv\nputenv('A', '1')\n",
    ],
)
def test_environ_writes_are_found(source: str) -> None:
    assert len(environ_writes(FAKE, source)) == 1


def test_environ_reads_pass() -> None:
    source = (
        "import os\n"
        "a = os.environ.get('A')\n"
        "b = os.environ['B']\n"
        "c = dict(os.environ)\n"
        "d = {}\nd['A'] = os.environ.get('A', '')\nd.update(os.environ)\n"
    )
    assert environ_writes(FAKE, source) == []
