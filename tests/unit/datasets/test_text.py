"""The sample company's Arrow-built text columns equal what np.char built before."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmcore.datasets._text import digits, joined, numbered, text_array


def test_numbered_pads_like_zfill_and_keeps_longer_numbers_whole():
    numbers = np.array([0, 7, 123, 99_999, 1_000_000])
    got = numbered("R", numbers, 5)
    want = np.char.add("R", np.char.zfill(numbers.astype(str), 5))
    assert got.tolist() == want.tolist() == ["R00000", "R00007", "R00123", "R99999", "R1000000"]
    assert got.dtype == pd.Series(want).dtype  # pandas' default text column


def test_joined_mixes_columns_and_scalars_element_wise():
    first = np.array(["Ada", "Zoë", "Émile"])
    got = text_array(joined(first, ".", pd.Series(["x", "y", "z"]), digits([1, 20, 300], 2)))
    assert got.tolist() == ["Ada.x01", "Zoë.y20", "Émile.z300"]
    assert text_array(joined(first, digits([5, 6, 7]), sep="-")).tolist() == [
        "Ada-5",
        "Zoë-6",
        "Émile-7",
    ]
