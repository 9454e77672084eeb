from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from crmcore._validation import as_count_array, as_float_array
from crmcore.errors import ValidationError

floats = hnp.arrays(
    np.float64,
    st.integers(0, 30),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
)


@given(floats)
def test_float_array_returns_input_exactly_or_names_first_non_finite(values):
    finite = np.isfinite(values)
    if finite.all():
        np.testing.assert_array_equal(as_float_array(values, name="x"), values)
    else:
        with pytest.raises(ValidationError) as info:
            as_float_array(values, name="x")
        assert info.value.row == int(np.argmin(finite))


@given(floats)
def test_count_array_never_changes_a_value(values):
    try:
        out = as_count_array(values, name="n")
    except ValidationError:
        ok = np.isfinite(values) & (values >= 0) & (values == np.floor(values))
        assert not ok.all() or (values.size and values.max() > 2**63 - 1)
    else:
        np.testing.assert_array_equal(out.astype(np.float64), values)
