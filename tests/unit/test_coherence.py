"""The subpackages agree with each other on one log (issue 13, "What was found").

Each subpackage has its own tests of the time rule; these put them side by
side on one log, as a user mixing clv features, segmentation features,
churn labels and loyalty rates does, and check the public signatures for the
names the vocabulary retired.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil

import pandas as pd
import pytest

import crmcore
from crmcore.churn import churn_labels
from crmcore.clv import calibration_holdout_split, rfm_summary
from crmcore.errors import ValidationError
from crmcore.loyalty import repurchase_rate
from crmcore.segmentation import customer_features

# a: its second purchase is exactly at 12:00 on 31 March; b: at 18:00 that day;
# c: before and well after the cut-off.
LOG = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "b", "c", "c"],
        "date": pd.to_datetime(
            [
                "2024-03-01 10:00",
                "2024-03-31 12:00",
                "2024-03-10 09:00",
                "2024-03-31 18:00",
                "2024-03-20 08:00",
                "2024-04-10 09:00",
            ]
        ),
        "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
    }
)
OBSERVED = "2024-06-30"


def _history_seen_by_each(log: pd.DataFrame, as_of: object) -> dict[str, dict[str, int]]:
    """Purchases each function counts as history at ``as_of``, per customer."""
    clv = rfm_summary(log, as_of=as_of)  # frequency = repeat purchase days
    seg = customer_features(log, as_of=as_of, windows=["31D"])
    rate = repurchase_rate(log, as_of=as_of, window="31D")  # every purchase is in the window
    return {
        "rfm_summary": (clv["frequency"] + 1).to_dict(),  # one purchase a day here
        "customer_features": seg["n_purchases"].to_dict(),
        "repurchase_rate (repeat buyers)": {"n": rate.numerator, "of": rate.denominator},
    }


@pytest.mark.parametrize(
    ("as_of", "history", "labels"),
    [
        # an instant: 12:00 itself is history, 18:00 the same day is the future
        (pd.Timestamp("2024-03-31 12:00"), {"a": 2, "b": 1, "c": 1}, {"a": 1, "b": 0, "c": 0}),
        # a date: the whole day is history, 18:00 included
        ("2024-03-31", {"a": 2, "b": 2, "c": 1}, {"a": 1, "b": 1, "c": 0}),
        (pd.Period("2024-03-31", "D"), {"a": 2, "b": 2, "c": 1}, {"a": 1, "b": 1, "c": 0}),
    ],
)
def test_one_log_one_cut_off_one_history(as_of, history, labels):
    seen = _history_seen_by_each(LOG, as_of)
    assert seen["rfm_summary"] == history
    assert seen["customer_features"] == history
    repeat = sum(n > 1 for n in history.values())
    assert seen["repurchase_rate (repeat buyers)"] == {"n": repeat, "of": len(history)}
    # the labels read (as_of, as_of + 30 days]: exactly the purchases the features left out
    y = churn_labels(LOG, as_of=as_of, horizon="30D", observed_until=OBSERVED)
    assert y.to_dict() == labels
    # and the clv holdout is that window too
    split = calibration_holdout_split(LOG, as_of=as_of, holdout_end="2024-04-30")
    assert (split["frequency_cal"] + 1).to_dict() == history
    assert (split["frequency_holdout"] > 0).to_dict() == {c: not v for c, v in labels.items()}


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York", "Asia/Kathmandu"])
def test_the_same_instants_in_another_zone_give_the_same_answers(zone):
    utc = LOG.assign(date=LOG["date"].dt.tz_localize("UTC"))
    there = utc.assign(date=utc["date"].dt.tz_convert(zone))
    cut = pd.Timestamp("2024-03-31 12:00", tz="UTC")
    as_of = cut.tz_convert(zone)
    # durations and windows are instants in every subpackage
    features = ["n_purchases", "total_spend", "tenure_days", "purchases_31d"]
    pd.testing.assert_frame_equal(
        customer_features(there, as_of=as_of, windows=["31D"])[features],
        customer_features(utc, as_of=cut, windows=["31D"])[features],
    )
    kw = {"horizon": "30D", "observed_until": pd.Timestamp(OBSERVED, tz="UTC")}
    pd.testing.assert_series_equal(
        churn_labels(there, as_of=as_of, **kw), churn_labels(utc, as_of=cut, **kw)
    )
    here = repurchase_rate(utc, as_of=cut, window="31D")
    away = repurchase_rate(there, as_of=as_of, window="31D")
    assert (away.numerator, away.denominator) == (here.numerator, here.denominator)
    # history membership is instants too (rfm periods are the data's own calendar days)
    assert set(rfm_summary(there, as_of=as_of).index) == set(rfm_summary(utc, as_of=cut).index)


CALLS = {
    "rfm_summary": lambda log, as_of: rfm_summary(log, as_of=as_of),
    "customer_features": lambda log, as_of: customer_features(log, as_of=as_of),
    "churn_labels": lambda log, as_of: churn_labels(log, as_of=as_of, horizon="5D"),
    "repurchase_rate": lambda log, as_of: repurchase_rate(log, as_of=as_of, window="31D"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_naive_data_is_never_given_a_zone_silently(name):
    call = CALLS[name]
    aware_cut = pd.Timestamp("2024-03-31 12:00", tz="Europe/Paris")
    with pytest.raises(ValidationError, match=r"naive.*tz_localize"):
        call(LOG, aware_cut)  # naive log, aware cut-off
    aware = LOG.assign(date=LOG["date"].dt.tz_localize("Europe/Paris"))
    with pytest.raises(ValidationError, match=r"naive but the dates are timezone-aware"):
        call(aware, pd.Timestamp("2024-03-31 12:00"))  # aware log, naive cut-off
    # a date-only cut-off ends that day on the data's own clock, naive or aware
    call(LOG, "2024-03-31")
    call(aware, "2024-03-31")


def test_observation_end_as_a_daily_period_is_accepted():
    # the example, under the old name (which still works, with a warning)
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2015-01-05", "2015-02-07 18:00", "2015-02-10", "2015-02-01"], format="ISO8601"
            ),
        }
    )
    with pytest.warns(DeprecationWarning, match="'observation_end=' is deprecated.*'as_of='"):
        old = rfm_summary(log, observation_end=pd.Period("2015-02-07", "D"))
    expected = rfm_summary(log, as_of="2015-02-07")
    pd.testing.assert_frame_equal(old, expected)
    pd.testing.assert_frame_equal(rfm_summary(log, as_of=pd.Period("2015-02-07", "D")), expected)
    assert expected["frequency"].to_dict() == {"a": 1, "b": 0}  # 18:00 on the day counts


#: parameter names the vocabulary retired (docs/time.rst "One vocabulary"); a retired name
#: survives only as a deprecated alias, which is not in the signature.
RETIRED = {
    "observation_end": "as_of",
    "calibration_end": "as_of",
    "cutoff": "as_of",
    "cutoffs": "as_of",
    "split_at": "as_of",
    "amount_col": "value_col",
    "group_cols": "by",
    "group_col": "by (grouping) or variant_col (an experiment's arms)",
    "time_col": "date_col, or created_col on entity tables",
    "segment_col": "by",
    "level": "confidence",
    "period": "freq (a calendar period) or window (a duration)",
}


def _public_signatures():
    packages = ["crmcore"] + [
        f"crmcore.{m.name}" for m in pkgutil.iter_modules(crmcore.__path__) if m.ispkg
    ]
    for package in packages:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            members = [(name, obj)]
            if inspect.isclass(obj):
                members = [
                    (f"{name}.{attr}", m)
                    for attr, m in inspect.getmembers(obj)
                    if callable(m) and (not attr.startswith("_") or attr == "__init__")
                ]
            for qual, member in members:
                try:
                    params = inspect.signature(member).parameters
                except (TypeError, ValueError):
                    continue
                yield f"{package}.{qual}", params


def test_public_signatures_speak_one_vocabulary():
    found = [
        f"{where}({param}=): use {RETIRED[param]}"
        for where, params in _public_signatures()
        for param in params
        if param in RETIRED
    ]
    assert not found, found
    # a confidence level is called confidence; where alpha sits beside it, it is the
    # deprecated complement (default None), not a second way to say the same thing
    for where, params in _public_signatures():
        if "alpha" in params and "confidence" in params:
            assert params["alpha"].default is None, where
            assert params["confidence"].default == 0.95, where


def test_every_renamed_argument_has_a_row_in_the_changelog_rename_table():
    root = pathlib.Path(crmcore.__file__).parent
    log = (root.parents[1] / "CHANGELOG.md").read_text(encoding="utf-8")
    unreleased = log[log.index("## [Unreleased]") : log.index("## [0.1.0]")]
    table = unreleased[unreleased.index("### Deprecated") :]
    renames = [
        (path.relative_to(root), node.name, kw.arg)
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        for deco in node.decorator_list
        if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "renamed_arguments"
        for kw in deco.keywords
    ]
    assert len(renames) >= 19  # the decorator is found (a broken scan would pass vacuously)
    missing = [f"{p}: {name}({old}=)" for p, name, old in renames if f"{name}({old}=" not in table]
    assert not missing, missing
