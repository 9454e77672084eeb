"""Renamed arguments keep working for one release, with a warning naming the new name."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["REMOVED_IN", "renamed_arguments", "warn_renamed"]

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
