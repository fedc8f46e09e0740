"""Objects named ``module:attribute`` in files and on the command line.

Agent files name tools and cascade checks this way, the conformance kit's
CLI and pytest files name adapter factories; one importer gives all of them
the same three errors a person can act on.
"""

from __future__ import annotations

import importlib
from typing import Any

from .exceptions import UserError

__all__ = ["import_object"]


def import_object(reference: str, where: str, what: str = "") -> Any:
    """The object ``reference`` (``package.module:name`` or ``...:Class.attr``) names.

    Args:
        reference: ``module:attribute``; the attribute may be dotted.
        where: Where the reference was written (a file, an option), first in
            every message.
        what: What the reference is for (``"for tool 'm:f'"``), after the
            module's name in the messages.

    Raises:
        UserError: the module cannot be found, raises while importing, or has
            no such attribute.
    """
    module_name, _, attribute = reference.partition(":")
    for_what = f" {what}" if what else ""
    if not module_name or not attribute:
        raise UserError(f"{where}: {reference!r} is not 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"{where}: cannot import {module_name!r}{for_what}: {exc}") from exc
    except Exception as exc:
        # The module itself is broken (a syntax error, an exception at import
        # time): say which and where rather than leave a bare traceback.
        raise UserError(
            f"{where}: importing {module_name!r}{for_what} failed: {type(exc).__name__}: {exc}"
        ) from exc
    obj: Any = module
    for name in attribute.split("."):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise UserError(f"{where}: {module_name!r} has no {attribute!r}{for_what}") from None
    return obj
