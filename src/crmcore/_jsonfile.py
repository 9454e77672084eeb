"""Read a JSON file a user hands to crmcore (saved models), refusing anything else by name.

One reader for every ``load``: a missing file, a directory, bytes that are
not UTF-8, text that is not JSON, nesting deeper than any saved model has,
and the non-standard literals ``NaN`` and ``Infinity`` (a saved model never
holds them: it would predict NaN) are each a :class:`~crmcore.errors.ValidationError`
naming the file, never a raw decoder error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn

from crmcore.errors import ValidationError

__all__ = ["parse_json", "read_json"]


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str, *, what: str) -> Any:
    """Parse ``text`` as strict JSON (no ``NaN``/``Infinity``).

    Parameters
    ----------
    text : str
    what : str
        What the text is, for messages (``"model file 'm.json'"``).

    Raises
    ------
    ValidationError
        Naming ``what`` and the line of the first problem.
    """
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        problem = f"is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except ValueError as exc:  # NaN / Infinity
        problem = f"is not strict JSON: {exc}"
    except RecursionError:
        problem = "is nested too deeply to be a saved model"
    raise ValidationError(f"{what} {problem}", field="path")


def read_json(path: str | os.PathLike[str], *, what: str = "file") -> Any:
    """Read and parse a UTF-8 JSON file (see :func:`parse_json`).

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, for messages (``"model file"``).

    Raises
    ------
    ValidationError
        A missing file, a directory, bytes that are not UTF-8, or text that
        is not strict JSON; the message names the file.
    """
    file = Path(path)
    shown = f"{what} {os.fspath(path)!r}"
    if file.is_dir():
        raise ValidationError(f"{shown} is a directory, not a file", field="path")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{shown} does not exist", field="path") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{shown} is not UTF-8 text (byte {exc.start}): not a saved model", field="path"
        ) from None
    return parse_json(text, what=shown)
