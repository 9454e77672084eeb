"""Named segments from the R×F score grid."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from crmcore._types import IntArray
from crmcore._validation import as_float_array, check_columns, check_in_range, check_integer_valued
from crmcore.errors import ValidationError

__all__ = ["DEFAULT_SEGMENTS", "rfm_segments", "segment_grid"]

Cell = tuple[int, int]


def _rect(r: tuple[int, int], f: tuple[int, int]) -> tuple[Cell, ...]:
    return tuple((ri, fi) for ri in range(r[0], r[1] + 1) for fi in range(f[0], f[1] + 1))


#: The conventional R×F segment grid; documented where it is public, in
#: ``crmcore/segmentation/__init__.py``.
DEFAULT_SEGMENTS: Mapping[str, tuple[Cell, ...]] = MappingProxyType(
    {
        # name: cells (r_score, f_score) of the 5×5 grid
        "champions": _rect((5, 5), (4, 5)),
        "loyal": _rect((3, 4), (4, 5)),
        "potential_loyalists": _rect((4, 5), (2, 3)),
        "new": _rect((5, 5), (1, 1)),
        "promising": _rect((4, 4), (1, 1)),
        "need_attention": _rect((3, 3), (3, 3)),
        "about_to_sleep": _rect((3, 3), (1, 2)),
        "at_risk": _rect((1, 2), (3, 4)),
        "cant_lose": _rect((1, 2), (5, 5)),
        "hibernating": _rect((1, 2), (1, 2)),
    }
)


def _grid(mapping: Mapping[str, Iterable[Cell]]) -> tuple[list[str], IntArray]:
    """Validate ``mapping`` and return (names, grid of codes indexed [r-1, f-1])."""
    given: Any = mapping
    if not isinstance(given, Mapping) or not given:
        raise ValidationError(
            "mapping must be a non-empty mapping of segment name -> (r, f) cells",
            field="mapping",
        )
    names: list[str] = []
    cells: list[tuple[int, int, int]] = []
    for code, (name, value) in enumerate(given.items()):
        key: Any = name
        if not isinstance(key, str) or not key:
            raise ValidationError(
                f"segment names must be non-empty strings; got {name!r}", field="mapping"
            )
        names.append(name)
        items: Any = value
        if isinstance(items, str) or not isinstance(items, Iterable):
            raise ValidationError(
                f"segment {name!r} must list (r, f) cells; got {value!r}", field="mapping"
            )
        for cell in items:
            ok = (
                isinstance(cell, tuple | list)
                and len(cell) == 2
                and all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in cell)
                and all(x >= 1 for x in cell)
            )
            if not ok:
                raise ValidationError(
                    f"segment {name!r}: cell {cell!r} is not a pair of scores >= 1",
                    field="mapping",
                    value=cell,
                )
            cells.append((int(cell[0]), int(cell[1]), code))
    if not cells:
        raise ValidationError("mapping covers no cells", field="mapping")
    size = max(max(r, f) for r, f, _ in cells)
    grid = np.full((size, size), -1, dtype=np.int64)
    for r, f, code in cells:
        prev = grid[r - 1, f - 1]
        if prev >= 0:
            raise ValidationError(
                f"cell (r={r}, f={f}) is assigned to both {names[prev]!r} and "
                f"{names[code]!r}; every cell must belong to exactly one segment",
                field="mapping",
                value=(r, f),
            )
        grid[r - 1, f - 1] = code
    holes = np.argwhere(grid < 0)
    if holes.size:
        listed = ", ".join(f"(r={r + 1}, f={f + 1})" for r, f in holes[:10])
        raise ValidationError(
            f"mapping leaves {len(holes)} cell(s) of the {size}x{size} grid unassigned: "
            f"{listed}; every cell must belong to exactly one segment",
            field="mapping",
            value=(int(holes[0][0]) + 1, int(holes[0][1]) + 1),
        )
    return names, grid


def segment_grid(mapping: Mapping[str, Iterable[Cell]] = DEFAULT_SEGMENTS) -> pd.DataFrame:
    """Show a segment mapping as an R×F table (after validating it).

    Parameters
    ----------
    mapping : mapping of str to iterable of (int, int)
        Segment name -> ``(r_score, f_score)`` cells.

    Returns
    -------
    DataFrame
        Rows ``r_score`` from high to low, columns ``f_score`` from low to
        high, cells holding segment names.

    Raises
    ------
    ValidationError
        If a cell is missing, assigned twice, or malformed.

    Examples
    --------
    >>> segment_grid({"low": [(1, 1), (1, 2)], "high": [(2, 1), (2, 2)]})
    f_score     1     2
    r_score
    2        high  high
    1         low   low
    """
    names, grid = _grid(mapping)
    size = grid.shape[0]
    table = np.asarray(names, dtype=object)[grid][::-1]
    return pd.DataFrame(
        table,
        index=pd.Index(range(size, 0, -1), name="r_score"),
        columns=pd.Index(range(1, size + 1), name="f_score"),
    )


def rfm_segments(
    scores: pd.DataFrame,
    mapping: Mapping[str, Iterable[Cell]] = DEFAULT_SEGMENTS,
    *,
    r_col: str = "r_score",
    f_col: str = "f_score",
) -> pd.Series:
    """Name each customer's segment from its recency and frequency scores.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`rfm_scores` (or any frame with integer R and F
        scores).
    mapping : mapping of str to iterable of (int, int), default DEFAULT_SEGMENTS
        Segment name -> the ``(r_score, f_score)`` cells it covers. The grid
        size is the largest score mentioned; every cell of the square grid
        must belong to exactly one segment. Use a 3×3 mapping with
        ``rfm_scores(..., bins=3)``, and so on.
    r_col, f_col : str
        Score columns.

    Returns
    -------
    Series
        Categorical (categories in mapping order), named ``"segment"``,
        indexed like ``scores``.

    Raises
    ------
    ValidationError
        An invalid mapping (missing, doubly assigned or malformed cell), a
        missing score column, or scores that are not whole numbers in
        ``1..size``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 5, 3]}, index=["a", "b", "c"])
    >>> rfm_segments(scores).tolist()
    ['champions', 'cant_lose', 'need_attention']
    """
    names, grid = _grid(mapping)
    size = grid.shape[0]
    check_columns(scores, [r_col, f_col], name="scores")
    kw: dict[str, Any] = {"index": scores.index, "row_name": "customer"}
    rf = []
    for col in (r_col, f_col):
        arr = as_float_array(scores[col], name=col, **kw)
        check_integer_valued(arr, name=col, **kw)
        check_in_range(arr, name=col, low=1, high=size, **kw)
        rf.append(arr.astype(np.int64))
    codes = grid[rf[0] - 1, rf[1] - 1]
    cat = pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=object))
    return pd.Series(cat, index=scores.index, name="segment")
