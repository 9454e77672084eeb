"""Renamed arguments and columns keep working for one release, with a warning naming the new."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REMOVED_IN", "renamed_arguments", "renamed_columns", "warn_renamed"]

P = ParamSpec("P")
R = TypeVar("R")

REMOVED_IN = "0.3.0"
"""The release in which names deprecated in this one are removed."""


def warn_renamed(where: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (a ``DeprecationWarning``)."""
    warnings.warn(
        f"{where}: {old!r} is deprecated and will be removed in crmcore {REMOVED_IN}; "
        f"use {new!r} instead",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_arguments(**renames: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accept old keyword names for one release.

    ``@renamed_arguments(observation_end="as_of")`` lets callers still write
    ``observation_end=...``: the value is passed as ``as_of`` and a
    ``DeprecationWarning`` names the new argument. Giving both is a
    ``TypeError``, as Python gives for any argument passed twice.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        where = f"{func.__qualname__}()"

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{where} got both {old!r} (deprecated) and {new!r}; give {new!r}"
                        )
                    warn_renamed(where, f"{old}=", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def renamed_columns(
    frame: pd.DataFrame, renames: Mapping[str, str], *, where: str
) -> pd.DataFrame:
    """Let ``frame["old"]`` still read a renamed column for one release.

    The frame keeps only the new names (they are what it prints, iterates
    and compares); reading a column by an old name with ``frame[...]`` or
    ``frame.get(...)``, alone or in a list, returns the new column and emits
    a ``DeprecationWarning`` naming it. Frames derived from it (``round``,
    ``head``, ``copy``, row selections) keep the old names readable.

    Parameters
    ----------
    frame : pandas.DataFrame
        A result that uses the new names.
    renames : mapping of str to str
        Old name -> new name.
    where : str
        The function that made the frame, for the message (``"kaplan_meier()"``).

    Returns
    -------
    pandas.DataFrame
        The same data, as a DataFrame subclass that understands the old names.
    """
    out: Any = _frame_with_old_names()(frame)
    out._old_names = dict(renames)
    out._old_where = where
    return out  # type: ignore[no-any-return]


@functools.cache
def _frame_with_old_names() -> type[pd.DataFrame]:
    import pandas as pd  # noqa: PLC0415 - this module stays importable without pandas

    class FrameWithOldNames(pd.DataFrame):
        """A DataFrame whose renamed columns still read by their old names (one release)."""

        _metadata: ClassVar[list[str]] = ["_old_names", "_old_where"]

        @property
        def _constructor(self) -> type[FrameWithOldNames]:
            return FrameWithOldNames

        def _new_key(self, key: Any) -> Any:
            names: Mapping[str, str] = getattr(self, "_old_names", None) or {}
            if not names:
                return key
            where = getattr(self, "_old_where", None) or "this table"

            def translate(k: Any) -> Any:
                if isinstance(k, str) and k in names and k not in self.columns:
                    level = _caller_level(os.path.dirname(pd.__file__))
                    warn_renamed(f"{where} column", k, names[k], stacklevel=level + 1)
                    return names[k]
                return k

            if isinstance(key, list):
                return [translate(k) for k in key]
            return translate(key)

        def __getitem__(self, key: Any) -> Any:
            return super().__getitem__(self._new_key(key))

    FrameWithOldNames.__module__ = __name__
    FrameWithOldNames.__qualname__ = "FrameWithOldNames"
    return FrameWithOldNames


def __getattr__(name: str) -> Any:
    """Give ``FrameWithOldNames`` by name, as pickle looks a class up (PEP 562).

    The class is made on first use (this module stays importable without
    pandas); a pickled result of :func:`renamed_columns` names it here.
    """
    if name == "FrameWithOldNames":
        return _frame_with_old_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _caller_level(library_dir: str) -> int:
    """Stack level (from the caller) of the first frame outside this module and ``library_dir``."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and (
        frame.f_code.co_filename == __file__ or frame.f_code.co_filename.startswith(library_dir)
    ):
        frame = frame.f_back
        level += 1
    return level
