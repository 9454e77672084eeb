"""Type aliases shared across crmcore's numeric code."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayLike", "BoolArray", "FloatArray", "IntArray", "RandomState"]

FloatArray: TypeAlias = npt.NDArray[np.float64]
"""A NumPy array of float64."""

IntArray: TypeAlias = npt.NDArray[np.int64]
"""A NumPy array of int64."""

BoolArray: TypeAlias = npt.NDArray[np.bool_]
"""A NumPy array of booleans."""

ArrayLike: TypeAlias = npt.ArrayLike
"""Anything :func:`numpy.asarray` accepts (lists, arrays, pandas Series)."""

RandomState: TypeAlias = "int | np.random.Generator | np.random.SeedSequence | None"
"""A seed, a generator, or ``None`` for fresh OS entropy."""
