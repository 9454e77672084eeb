from __future__ import annotations

import pickle

import pytest
import sklearn.exceptions

from crmcore import errors
from crmcore.errors import (
    ConcurrencyConflict,
    ConvergenceError,
    ConvergenceWarning,
    CrmCoreError,
    CrmCoreWarning,
    DataWarning,
    InvalidTransition,
    NotFittedError,
    NotFound,
    RuleSyntaxError,
    SchemaVersionError,
    ValidationError,
)


@pytest.mark.parametrize(
    ("exc", "builtins"),
    [
        (ValidationError("x"), (ValueError,)),
        (RuleSyntaxError("bad", text="a ==", position=4), (ValidationError, ValueError)),
        (NotFound("customers", "c1"), (KeyError,)),
        (ConcurrencyConflict("orders", 1, expected_version=1, actual_version=2), ()),
        (InvalidTransition("no", current="a", target="b", allowed=["c"]), ()),
        (NotFittedError("fit first"), (sklearn.exceptions.NotFittedError, ValueError)),
        (ConvergenceError("stuck", result={"nit": 3}), (RuntimeError,)),
        (SchemaVersionError("old", found=1, expected=2), ()),
    ],
)
def test_every_error_is_a_crmcore_error_and_its_builtin(exc, builtins):
    assert isinstance(exc, CrmCoreError)
    for base in builtins:
        assert isinstance(exc, base)


def test_warnings_hierarchy():
    assert issubclass(ConvergenceWarning, CrmCoreWarning)
    assert issubclass(ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    assert issubclass(DataWarning, CrmCoreWarning)
    assert issubclass(CrmCoreWarning, UserWarning)


def test_module_docstring_draws_every_public_name():
    for name in errors.__all__:
        assert name in errors.__doc__, name


def test_validation_error_carries_field_row_value():
    err = ValidationError("amount must be >= 0", field="amount", row="o-7", value=-3)
    assert (err.field, err.row, err.value, err.has_value) == ("amount", "o-7", -3, True)
    assert str(err) == "amount must be >= 0"
    bare = ValidationError("no context")
    assert (bare.field, bare.row, bare.value, bare.has_value) == (None, None, None, False)


def test_validation_error_distinguishes_none_value_from_missing():
    err = ValidationError("must not be None", field="name", value=None)
    assert err.has_value
    assert err.value is None


def test_not_found_message_is_not_quoted_like_a_key_error():
    err = NotFound("tickets", "t-9")
    assert str(err) == "tickets: no record with id 't-9'"
    assert (err.aggregate, err.id) == ("tickets", "t-9")
    with pytest.raises(KeyError):
        raise err


def test_concurrency_conflict_names_versions():
    err = ConcurrencyConflict("opportunities", "o1", expected_version=3, actual_version=4)
    assert "version 3" in str(err)
    assert "version 4" in str(err)
    gone = ConcurrencyConflict("opportunities", "o1", expected_version=3, actual_version=None)
    assert "removed" in str(gone)


def test_rule_syntax_error_points_at_position():
    err = RuleSyntaxError("unexpected end", text="age >", position=5, expected=["number"])
    assert err.position == 5
    assert err.expected == ("number",)
    lines = str(err).splitlines()
    assert lines[1].strip() == "age >"
    # the caret sits under the failing position
    assert lines[2].index("^") - lines[1].index("a") == 5
    assert "expected: number" in str(err)


def test_invalid_transition_lists_allowed():
    err = InvalidTransition("x", current="new", target="closed", allowed=["assigned"])
    assert err.allowed == ("assigned",)


def test_convergence_error_keeps_result():
    result = object()
    assert ConvergenceError("failed", result=result).result is result


def test_errors_survive_pickling_for_multiprocessing():
    err = pickle.loads(pickle.dumps(NotFound("customers", "c1")))
    assert isinstance(err, NotFound)


@pytest.mark.parametrize(
    "exc",
    [
        ValidationError("bad", field="f", row=3, value=1.5),
        RuleSyntaxError("bad", text="a ==", position=4, expected=["value"]),
        ConcurrencyConflict("orders", 1, expected_version=1, actual_version=2),
        InvalidTransition("no", current="a", target="b", allowed=["c"]),
        SchemaVersionError("old", found=1, expected=2),
        ConvergenceError("stuck", result={"nit": 3}),
    ],
)
def test_keyword_errors_pickle_round_trip(exc):
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert str(back) == str(exc)
    assert vars(back) == vars(exc)
