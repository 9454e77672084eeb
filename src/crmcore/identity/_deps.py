"""RapidFuzz, imported on first use with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["rapidfuzz"]

_HINT = (
    "crmcore.identity needs RapidFuzz for string similarity: "
    "pip install 'crmcore[identity]' (or pip install 'rapidfuzz>=3')"
)
_loaded: list[ModuleType] = []  # the module once imported (scorers run per field and pass)


def rapidfuzz() -> ModuleType:
    """Return the ``rapidfuzz`` package, or raise ImportError naming the extra.

    Raises
    ------
    ImportError
        RapidFuzz is not installed.
    """
    if _loaded:
        return _loaded[0]
    try:
        module = importlib.import_module("rapidfuzz")
        importlib.import_module("rapidfuzz.distance")
        importlib.import_module("rapidfuzz.process")
        importlib.import_module("rapidfuzz.fuzz")
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    _loaded.append(module)
    return module
