"""Model files from elsewhere: every load refuses what is not a saved model, by name.

Issue 23, class 6: JSONDecodeError, UnicodeDecodeError, RecursionError and
NaN literals used to escape ``load``; a parameter such as ``r = 1e308`` loaded
and predicted NaN. One reader (crmcore._jsonfile) serves every ``load``, and
every prediction leaves through one finiteness check.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.churn import ChurnClassifier, PAliveBaseline
from crmcore.cli import main
from crmcore.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel, simulate_bgnbd
from crmcore.errors import ValidationError
from crmcore.identity import MatchModel
from crmcore.pipeline import LeadScorer
from crmcore.segmentation import Segmenter

LOADERS = [
    BetaGeoModel.load,
    ParetoNBDModel.load,
    GammaGammaModel.load,
    ChurnClassifier.load,
    PAliveBaseline.load,
    LeadScorer.load,
    MatchModel.load,
    Segmenter.load,
]
HOSTILE = {
    "not JSON": b"{'model': 'BetaGeoModel'}",
    "binary": bytes(range(256)),
    "deep": b"[" * 100_000,
    "nan literal": b'{"model": NaN}',
    "infinity": b'{"x": [Infinity]}',
    "empty": b"",
    "a list": b'["x"]',
    "wrong model": b'{"model": ["x"], "schema_version": 1}',
}


@pytest.mark.parametrize("load", LOADERS, ids=lambda f: f.__qualname__)
@pytest.mark.parametrize("content", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_files_are_validation_errors(tmp_path, load, content):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValidationError):
        load(path)


@pytest.mark.parametrize("load", LOADERS, ids=lambda f: f.__qualname__)
def test_missing_files_and_directories(tmp_path, load):
    with pytest.raises(ValidationError, match="does not exist"):
        load(tmp_path / "absent.json")
    with pytest.raises(ValidationError, match="is a directory"):
        load(tmp_path)


@settings(max_examples=60)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_refuse_by_name(data):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.json"
        path.write_bytes(data)
        with pytest.raises(ValidationError):
            BetaGeoModel.load(path)


@pytest.fixture(scope="module")
def fitted():
    data = simulate_bgnbd(500, r=0.24, alpha=4.4, a=0.79, b=2.4, T=39, random_state=3)
    return BetaGeoModel().fit(data), data


def test_absurd_parameters_are_refused_when_loaded(tmp_path, fitted):
    model, _ = fitted
    state = model.to_dict()
    state["params"]["r"] = 1e308
    path = tmp_path / "m.json"
    path.write_text(json.dumps(state))
    with pytest.raises(ValidationError, match=r"params\['r'\] must lie in \(0, 1e\+100\]"):
        BetaGeoModel.load(path)


def test_a_good_model_file_round_trips(tmp_path, fitted):
    model, data = fitted
    path = tmp_path / "m.json"
    model.save(path)
    loaded = BetaGeoModel.load(path)
    np.testing.assert_array_equal(
        loaded.expected_purchases(10, data), model.expected_purchases(10, data)
    )


def test_clv_predict_with_a_hostile_model_file_is_one_line(tmp_path):
    models = tmp_path / "models.json"
    models.write_bytes(b"[" * 100_000)
    log = tmp_path / "tx.csv"
    log.write_text("customer_id,date,amount\na,2026-01-01,10\na,2026-02-01,5\n")
    err = io.StringIO()
    code = main(
        ["clv", "predict", "--models", str(models), "--transactions", str(log),
         "--out", str(tmp_path / "o.csv")],
        stdout=io.StringIO(),
        stderr=err,
    )  # fmt: skip
    assert code == 2
    assert len(err.getvalue().strip().splitlines()) == 1
    assert "nested too deeply" in err.getvalue()
