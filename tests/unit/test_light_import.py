"""Importing crmcore's light modules loads no heavy library (checked in a fresh interpreter).

``import crmcore.domain`` used to load scikit-learn, SciPy and pandas (about
1,400 modules, 2 s) through ``errors.py``; ``crmcore --help`` took 4-5 s.
Each case starts its own interpreter, imports one thing and reports which of
the heavy libraries ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("sklearn", "scipy", "pandas", "numpy", "sqlalchemy", "matplotlib")


def _fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; return the JSON it prints on its last line."""
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps({{
            "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules),
            "modules": len(sys.modules),
            **globals().get("extra", {{}}),
        }}))
        """
    )
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("crmcore", set()),
        ("crmcore.errors", set()),
        ("crmcore._validation", {"numpy"}),
        ("crmcore._time", set()),
        ("crmcore.domain", set()),
        ("crmcore.storage", {"numpy", "pandas"}),
        ("crmcore.cli", set()),
    ],
)
def test_import_loads_no_heavy_library(module, allowed):
    seen = _fresh(f"import {module}\n")
    assert set(seen["heavy"]) <= allowed, f"import {module} loaded {seen['heavy']}"


def test_help_and_version_load_no_heavy_library():
    seen = _fresh(
        """
        import contextlib, io
        from crmcore.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            codes = [main(["--help"]), main(["--version"]), main(["report", "--help"])]
        extra = {"codes": codes, "text": out.getvalue()}
        """
    )
    assert seen["heavy"] == []
    assert seen["codes"] == [0, 0, 0]
    assert "demo" in seen["text"]
    assert "--tz" in seen["text"]


def test_python_dash_m_crmcore_version():
    from crmcore import __version__

    run = subprocess.run(
        [sys.executable, "-m", "crmcore", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"crmcore {__version__}\n"


def test_sklearn_based_errors_are_built_on_first_use():
    seen = _fresh(
        """
        import crmcore.errors as errors
        before = "sklearn" in __import__("sys").modules
        import sklearn.exceptions as sk
        caught = False
        try:
            raise errors.NotFittedError("fit first")
        except sk.NotFittedError:
            caught = True
        extra = {
            "before": before,
            "caught": caught,
            "same": errors.NotFittedError is errors.NotFittedError,
            "warning": issubclass(errors.ConvergenceWarning, sk.ConvergenceWarning),
            "ours": issubclass(errors.NotFittedError, errors.CrmCoreError),
            "value_error": issubclass(errors.NotFittedError, ValueError),
            "name": errors.NotFittedError.__qualname__,
            "in_dir": "ConvergenceWarning" in dir(errors),
        }
        """
    )
    assert seen["before"] is False
    assert seen["caught"] is True
    assert seen["same"] is True
    assert seen["warning"] is True
    assert seen["ours"] is True
    assert seen["value_error"] is True
    assert seen["name"] == "NotFittedError"
    assert seen["in_dir"] is True


def test_one_class_even_when_threads_race_for_it():
    seen = _fresh(
        """
        import threading
        import crmcore.errors as errors
        got, start = [], threading.Barrier(8, timeout=30)
        def look():
            start.wait()
            got.append(id(errors.NotFittedError))
        threads = [threading.Thread(target=look) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join(timeout=60)
        extra = {"distinct": len(set(got)), "n": len(got)}
        """
    )
    assert (seen["distinct"], seen["n"]) == (1, 8)


def test_not_fitted_error_pickles_across_interpreters():
    from crmcore.errors import NotFittedError

    blob = pickle.dumps(NotFittedError("fit first"))
    seen = _fresh(
        f"""
        import pickle, sklearn.exceptions as sk
        err = pickle.loads({blob!r})
        extra = {{"type": type(err).__module__ + "." + type(err).__qualname__,
                  "sk": isinstance(err, sk.NotFittedError), "msg": str(err)}}
        """
    )
    assert seen["type"] == "crmcore.errors.NotFittedError"
    assert seen["sk"] is True
    assert seen["msg"] == "fit first"


def test_unknown_attribute_is_still_an_attribute_error():
    import crmcore.errors as errors

    with pytest.raises(AttributeError, match="NotFitted"):
        errors.NotFitted  # noqa: B018
