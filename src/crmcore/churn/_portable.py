"""A fitted :class:`ChurnClassifier` model as plain arrays: JSON in, predictions out.

crmcore never pickles. A fitted classifier is a scikit-learn pipeline
(column encoding, a logistic regression or gradient-boosted trees, a
calibration map); this module reads what each part learned into named
arrays, writes them to JSON and predicts from them with NumPy alone:

* **inputs** — the column encoding: for boosting, numeric columns as they
  are and categories as the ordinal codes the trees split on (unknown or
  missing: NaN); for the logistic regression, median imputation with
  missing-value indicators, standard scaling and one-hot categories;
* **decision** — ``X @ coef + intercept`` for the logistic regression; for
  boosting, the baseline plus the leaf value every tree reaches, walking
  each tree as scikit-learn does (NaN follows the node's missing-value
  branch; categories follow the node's left set, other known categories go
  right, unknown ones follow the missing-value branch);
* **calibration** — the isotonic map (piecewise linear between its
  thresholds, clipped to them), Platt's sigmoid ``1 / (1 + exp(a·d + b))``,
  or, uncalibrated, the logistic function of the decision.

Reading boosted trees relies on the layout of scikit-learn's fitted trees,
which is not public API. :func:`portable` therefore checks that layout and
replays the trees it read against scikit-learn's own decision function on
probe rows built from the trees' thresholds and categories; anything but an
exact match refuses to save, naming the scikit-learn version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
from scipy.special import expit

from crmcore._types import FloatArray, IntArray
from crmcore.errors import ValidationError

__all__ = ["PortableModel", "portable"]

_BITSET_WORDS = 8  # 8 x 32 bits: categories 0..255, as in scikit-learn's trees
_ALL_LEAVES = np.uint64(2**64 - 1)
_NODE_FIELDS = (
    "value",
    "feature_idx",
    "num_threshold",
    "missing_go_to_left",
    "left",
    "right",
    "is_leaf",
    "is_categorical",
    "bitset_idx",
)
_JSON_SCALARS = (str, int, float, bool)


# ---------------------------------------------------------------- JSON helpers


def _floats_out(values: Any) -> list[float | str]:
    """Floats for JSON; the non-finite ones as strings ("inf", "-inf", "nan")."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    return [float(v) if np.isfinite(v) else str(v) for v in arr]


def _floats_in(values: Any, *, name: str) -> FloatArray:
    if not isinstance(values, list):
        raise ValidationError(f"{name} must be a list of numbers", field=name)
    try:
        return np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a list of numbers: {exc}", field=name) from exc


def _ints_in(values: Any, *, name: str) -> IntArray:
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise ValidationError(f"{name} must be a list of whole numbers", field=name)
    return np.array(values, dtype=np.int64)


def _need(state: Any, key: str, where: str) -> Any:
    if not isinstance(state, Mapping) or key not in state:
        raise ValidationError(f"saved model: {where} lacks {key!r}", field=key)
    return state[key]


def _categories_out(values: Any, *, column: str) -> list[Any]:
    """Category values for JSON (missing ones dropped); other types refuse to save."""
    out: list[Any] = []
    for raw in values:
        v = raw.item() if isinstance(raw, np.generic) else raw
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, float) and not np.isfinite(v):
            raise ValidationError(
                f"column {column!r} has the category {v!r}; a saved ChurnClassifier keeps "
                "finite categories only",
                field=column,
            )
        if not isinstance(v, _JSON_SCALARS):
            raise ValidationError(
                f"column {column!r} has the category {v!r} of type {type(v).__name__}; a "
                "saved ChurnClassifier keeps categories as strings, numbers or booleans: "
                "convert the column (e.g. .astype(str)) and refit",
                field=column,
                value=v,
            )
        out.append(v)
    return out


def _codes(values: Any, categories: Sequence[Any]) -> IntArray:
    """Position of each value among ``categories`` (-1 when unknown or missing)."""
    index = pd.Index(list(categories), dtype=object)
    return np.asarray(index.get_indexer(np.asarray(values, dtype=object)), dtype=np.int64)


def _numeric(X: pd.DataFrame, columns: Sequence[str]) -> FloatArray:
    if not columns:
        return np.empty((len(X), 0), dtype=np.float64)
    return np.column_stack(
        [X[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in columns]
    ).astype(np.float64, copy=False)


# ---------------------------------------------------------------- calibration maps


class _Calibration(Protocol):
    kind: ClassVar[str]

    def __call__(self, decision: FloatArray) -> FloatArray: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Isotonic:
    """Isotonic map: linear between thresholds, constant beyond them."""

    kind: ClassVar[str] = "isotonic"
    x: FloatArray
    y: FloatArray

    def __call__(self, decision: FloatArray) -> FloatArray:
        clipped = np.clip(decision, self.x[0], self.x[-1])
        return np.asarray(np.interp(clipped, self.x, self.y), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "x": _floats_out(self.x), "y": _floats_out(self.y)}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> _Isotonic:
        x = _floats_in(_need(state, "x", "isotonic calibration"), name="x")
        y = _floats_in(_need(state, "y", "isotonic calibration"), name="y")
        if x.size == 0 or x.size != y.size or np.any(np.diff(x) < 0):
            raise ValidationError("isotonic thresholds must be sorted and paired", field="x")
        return cls(x, y)

    @classmethod
    def from_sklearn(cls, calibrator: Any) -> _Isotonic:
        return cls(
            np.asarray(calibrator.X_thresholds_, dtype=np.float64),
            np.asarray(calibrator.y_thresholds_, dtype=np.float64),
        )


@dataclass(frozen=True)
class _Sigmoid:
    """Platt's map ``1 / (1 + exp(a·d + b))``."""

    kind: ClassVar[str] = "sigmoid"
    a: float
    b: float

    def __call__(self, decision: FloatArray) -> FloatArray:
        return np.asarray(expit(-(self.a * decision + self.b)), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "a": float(self.a), "b": float(self.b)}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> _Sigmoid:
        a, b = _floats_in([_need(state, k, "sigmoid calibration") for k in "ab"], name="a, b")
        return cls(float(a), float(b))

    @classmethod
    def from_sklearn(cls, calibrator: Any) -> _Sigmoid:
        return cls(float(calibrator.a_), float(calibrator.b_))


@dataclass(frozen=True)
class _Logistic:
    """No calibration: the model's own probability, the logistic function of its decision."""

    kind: ClassVar[str] = "none"

    def __call__(self, decision: FloatArray) -> FloatArray:
        return np.asarray(expit(decision), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> _Logistic:
        return cls()


_CALIBRATIONS: dict[str, Any] = {c.kind: c for c in (_Isotonic, _Sigmoid, _Logistic)}


# ---------------------------------------------------------------- logistic regression


@dataclass(frozen=True)
class _LinearModel:
    """Imputation, indicators, scaling and one-hot encoding, then ``Z @ coef + intercept``."""

    kind: ClassVar[str] = "logistic"
    numeric: list[str]
    categorical: list[str]
    medians: FloatArray  # per numeric column; NaN: the column was empty in fit and is dropped
    indicators: IntArray  # numeric columns (positions) that get a missing-value indicator
    mean: FloatArray
    scale: FloatArray
    fill: list[Any]  # most frequent category per categorical column
    categories: list[list[Any]]
    coef: FloatArray
    intercept: float

    def decision(self, X: pd.DataFrame) -> FloatArray:
        raw = _numeric(X, self.numeric)
        missing = np.isnan(raw)
        keep = ~np.isnan(self.medians)
        imputed = np.where(missing, self.medians, raw)[:, keep]
        flags = missing[:, self.indicators].astype(np.float64)
        z_num = (np.hstack([imputed, flags]) - self.mean) / self.scale
        width = z_num.shape[1]
        out = z_num @ self.coef[:width]
        # a one-hot block times its coefficients is the coefficient of the row's
        # category (0 when unknown): gather it instead of building the block
        offset = width
        for column, fill, cats in zip(self.categorical, self.fill, self.categories, strict=True):
            values = X[column].to_numpy(dtype=object)
            # scikit-learn's imputer treats NaN (not None) as missing in object columns
            absent = np.asarray(pd.isna(values), dtype=bool) & (values != None)  # noqa: E711
            values = np.where(absent, fill, values)
            block = np.append(self.coef[offset : offset + len(cats)], 0.0)
            out = out + block[_codes(values, cats)]  # -1 (unknown) -> the appended 0
            offset += len(cats)
        return np.asarray(out + self.intercept, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "medians": _floats_out(self.medians),
            "indicators": [int(i) for i in self.indicators],
            "mean": _floats_out(self.mean),
            "scale": _floats_out(self.scale),
            "fill": list(self.fill),
            "categories": [list(c) for c in self.categories],
            "coef": _floats_out(self.coef),
            "intercept": float(self.intercept),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> _LinearModel:
        def get(key: str) -> Any:
            return _need(state, key, "the logistic model")

        model = cls(
            numeric=[str(c) for c in get("numeric")],
            categorical=[str(c) for c in get("categorical")],
            medians=_floats_in(get("medians"), name="medians"),
            indicators=_ints_in(get("indicators"), name="indicators"),
            mean=_floats_in(get("mean"), name="mean"),
            scale=_floats_in(get("scale"), name="scale"),
            fill=list(get("fill")),
            categories=[list(c) for c in get("categories")],
            coef=_floats_in(get("coef"), name="coef"),
            intercept=float(_floats_in([get("intercept")], name="intercept")[0]),
        )
        n_num = int((~np.isnan(model.medians)).sum()) + model.indicators.size
        width = n_num + sum(len(c) for c in model.categories)
        if (
            model.medians.size != len(model.numeric)
            or model.mean.size != n_num
            or model.scale.size != n_num
            or model.coef.size != width
            or len(model.fill) != len(model.categorical)
            or len(model.categories) != len(model.categorical)
        ):
            raise ValidationError(
                "saved logistic model: array sizes do not match its columns", field="coef"
            )
        return model

    @classmethod
    def from_pipeline(
        cls, pipeline: Any, numeric: list[str], categorical: list[str]
    ) -> _LinearModel:
        columns = pipeline.steps[0][1]
        regression = pipeline.steps[-1][1]
        parts = {name: part for name, part, _ in columns.transformers_}
        medians = mean = scale = np.empty(0, dtype=np.float64)
        indicators = np.empty(0, dtype=np.int64)
        if numeric:
            imputer, scaler = parts["num"].steps[0][1], parts["num"].steps[1][1]
            indicator = getattr(imputer, "indicator_", None)
            medians = np.asarray(imputer.statistics_, dtype=np.float64)
            if indicator is not None:
                indicators = np.asarray(indicator.features_, dtype=np.int64)
            mean = np.asarray(scaler.mean_, dtype=np.float64)
            scale = np.asarray(scaler.scale_, dtype=np.float64)
        fill: list[Any] = []
        cats: list[list[Any]] = []
        if categorical:
            cat_imputer, onehot = parts["cat"].steps[0][1], parts["cat"].steps[1][1]
            fill = _categories_out(cat_imputer.statistics_, column="(most frequent)")
            cats = [
                _categories_out(c, column=col)
                for c, col in zip(onehot.categories_, categorical, strict=True)
            ]
        return cls(
            numeric=list(numeric),
            categorical=list(categorical),
            medians=medians,
            indicators=indicators,
            mean=mean,
            scale=scale,
            fill=fill,
            categories=cats,
            coef=np.asarray(regression.coef_, dtype=np.float64).ravel(),
            intercept=float(np.asarray(regression.intercept_).ravel()[0]),
        )


# ---------------------------------------------------------------- boosted trees


@dataclass(frozen=True)
class _Columns:
    """The columns a forest reads, prepared once for all its trees."""

    values: FloatArray  # (features, rows), each column contiguous
    missing: np.ndarray[Any, np.dtype[np.bool_]]  # NaN, per feature and row
    codes: dict[int, IntArray]  # categorical feature -> 0..255, or 256 when NaN / out of range

    @classmethod
    def of(cls, Z: FloatArray, categorical: Sequence[int]) -> _Columns:
        values = np.ascontiguousarray(Z.T)
        missing = np.isnan(values)
        codes = {}
        for f in categorical:
            x = values[f]
            ok = ~missing[f] & (x >= 0) & (x < 256)
            # a code's fractional part is dropped, as scikit-learn's cast to uint8 does
            codes[f] = np.where(ok, np.where(ok, x, 0).astype(np.int64), 256)
        return cls(values, missing, codes)


@dataclass(frozen=True)
class _Tree:
    """One regression tree: its node arrays, and the same tree prepared for fast scoring.

    Scoring does not walk the tree row by row. Leaves are numbered from left to
    right and a row starts with every leaf possible (one bit each); every split
    a row sends right rules out the leaves of the split's left subtree. The
    leaf a row reaches is then the leftmost one left: on its path it went right
    exactly where a leaf to its left branches off. Each split costs a few
    whole-column operations, so a forest scores at array speed.
    """

    # the saved arrays, one entry per node, as scikit-learn lays them out
    value: FloatArray
    feature: IntArray
    threshold: FloatArray
    missing_left: np.ndarray[Any, np.dtype[np.bool_]]
    left: IntArray
    right: IntArray
    is_leaf: np.ndarray[Any, np.dtype[np.bool_]]
    categorical_nodes: IntArray
    left_bitsets: IntArray  # (categorical splits, 8)
    # derived: per split (internal node)
    splits: IntArray  # node ids of the splits
    left_subtree: np.ndarray[Any, np.dtype[np.uint64]]  # leaves a right turn rules out
    goes_right: dict[int, np.ndarray[Any, np.dtype[np.bool_]]]  # categorical split -> 257 flags
    leaf_values: FloatArray  # leaf values, left to right

    def predict(self, cols: _Columns) -> FloatArray:
        """Return the value of the leaf each row reaches."""
        n = cols.values.shape[1]
        alive = np.full(n, _ALL_LEAVES)
        right = np.empty(n, dtype=bool)
        ruled_out = np.empty(n, dtype=np.uint64)
        for k, node in enumerate(self.splits):
            f = int(self.feature[node])
            table = self.goes_right.get(int(node))
            if table is not None:
                np.take(table, cols.codes[f], out=right)
            else:
                np.greater(cols.values[f], self.threshold[node], out=right)  # NaN: False
                if not self.missing_left[node]:
                    right |= cols.missing[f]
            # alive &= ~left_subtree where the row goes right, in whole-array arithmetic
            # (a masked ufunc, out=... where=..., is several times slower)
            np.multiply(right, self.left_subtree[k], out=ruled_out)
            np.bitwise_and(alive, ruled_out, out=ruled_out)
            np.bitwise_xor(alive, ruled_out, out=alive)
        lowest = alive & (~alive + np.uint64(1))
        # a power of two converts to float exactly, so log2 gives its bit index
        return self.leaf_values[np.log2(lowest.astype(np.float64)).astype(np.int64)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _floats_out(self.value),
            "feature": [int(v) for v in self.feature],
            "threshold": _floats_out(self.threshold),
            "missing_left": [bool(v) for v in self.missing_left],
            "left": [int(v) for v in self.left],
            "right": [int(v) for v in self.right],
            "is_leaf": [bool(v) for v in self.is_leaf],
            "categorical_nodes": [int(v) for v in self.categorical_nodes],
            "left_bitsets": [[int(w) for w in row] for row in self.left_bitsets],
        }

    @classmethod
    def build(
        cls,
        *,
        value: FloatArray,
        feature: IntArray,
        threshold: FloatArray,
        missing_left: Any,
        left: IntArray,
        right: IntArray,
        is_leaf: Any,
        categorical_nodes: IntArray,
        left_bitsets: IntArray,
        known: Mapping[int, IntArray],
    ) -> _Tree:
        """Check the node arrays and prepare them for scoring.

        ``known`` maps a categorical feature to the bitset of its known codes.

        Raises
        ------
        ValidationError
            Arrays of different sizes, a child that is not a node, a node
            reached twice, more than 64 leaves, or a categorical split on a
            feature without known categories.
        """
        n = value.size
        missing_left = np.asarray(missing_left, dtype=bool)
        is_leaf = np.asarray(is_leaf, dtype=bool)
        sizes = {a.size for a in (feature, threshold, missing_left, left, right, is_leaf)}
        if (
            sizes != {n}
            or n == 0
            or left_bitsets.shape != (categorical_nodes.size, _BITSET_WORDS)
            or np.any((categorical_nodes < 0) | (categorical_nodes >= n))
        ):
            _bad_tree("its arrays do not fit together")
        leaves, drop = _leaf_order(left, right, is_leaf)
        splits = np.asarray(sorted(drop), dtype=np.int64)
        goes_right: dict[int, np.ndarray[Any, np.dtype[np.bool_]]] = {}
        for row, node in enumerate(categorical_nodes):
            f = int(feature[node])
            if f not in known:
                _bad_tree(f"feature {f} splits on categories but has no known set")
            # a known category outside the left set goes right; an unknown one (and
            # NaN, code 256) follows the missing-value branch
            in_left = _bits(left_bitsets[row])
            unknown = ~_bits(known[f])
            goes_left = np.append(in_left | (unknown & missing_left[node]), missing_left[node])
            goes_right[int(node)] = ~goes_left
        return cls(
            value=value,
            feature=feature,
            threshold=threshold,
            missing_left=missing_left,
            left=left,
            right=right,
            is_leaf=is_leaf,
            categorical_nodes=categorical_nodes,
            left_bitsets=left_bitsets,
            splits=splits,
            left_subtree=np.asarray([drop[int(s)] for s in splits], dtype=np.uint64),
            goes_right=goes_right,
            leaf_values=value[leaves],
        )


def _bad_tree(why: str) -> None:
    raise ValidationError(f"saved model: a tree is malformed ({why})", field="trees")


def _leaf_order(
    left: IntArray, right: IntArray, is_leaf: np.ndarray[Any, np.dtype[np.bool_]]
) -> tuple[IntArray, dict[int, int]]:
    """Leaves from left to right, and per split the bitmask of the leaves of its left subtree."""
    n = is_leaf.size
    leaves: list[int] = []
    below: dict[int, int] = {}  # node -> bitmask of the leaves under it
    seen = np.zeros(n, dtype=bool)
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:  # depth first, left before right; a split is closed after its children
        node, closed = stack.pop()
        if closed:
            below[node] = below[int(left[node])] | below[int(right[node])]
            continue
        if seen[node]:
            _bad_tree(f"node {node} is reached twice")
        seen[node] = True
        if is_leaf[node]:
            if len(leaves) == 64:
                _bad_tree("more than 64 leaves")
            below[node] = 1 << len(leaves)
            leaves.append(node)
            continue
        kids = (int(left[node]), int(right[node]))
        if not all(0 <= k < n for k in kids):
            _bad_tree(f"node {node} has a child outside the tree")
        stack += [(node, True), (kids[1], False), (kids[0], False)]
    drop = {node: below[int(left[node])] for node in below if not is_leaf[node]}
    return np.asarray(leaves, dtype=np.int64), drop


def _bits(words: IntArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Return the 256 membership flags of an 8-word bitset (bit ``c % 32`` of word ``c // 32``)."""
    codes = np.arange(256)
    words = np.asarray(words, dtype=np.int64)
    return np.asarray((words[codes // 32] >> (codes % 32)) & 1, dtype=bool)


@dataclass(frozen=True)
class _BoostedModel:
    """Columns in the trees' order, categories as the trees' codes, then the sum of leaves."""

    kind: ClassVar[str] = "hist_gradient_boosting"
    features: list[str]  # the columns, in the order the trees index them
    categories: dict[str, list[Any]]  # categorical column -> its values
    category_codes: dict[str, list[float]]  # ... and the code the trees see for each
    baseline: float
    trees: list[_Tree]
    known: dict[int, IntArray]  # categorical feature (tree index) -> bitset of known codes

    def encode(self, X: pd.DataFrame) -> FloatArray:
        parts = []
        for column in self.features:
            if column in self.categories:
                pos = _codes(X[column].to_numpy(dtype=object), self.categories[column])
                table = np.append(np.asarray(self.category_codes[column], np.float64), np.nan)
                parts.append(table[pos])  # unknown or missing (-1) -> NaN
            else:
                parts.append(X[column].to_numpy(dtype=np.float64, na_value=np.nan))
        return np.column_stack(parts) if parts else np.empty((len(X), 0))

    def decision(self, X: pd.DataFrame) -> FloatArray:
        cols = _Columns.of(self.encode(X), list(self.known))
        # the same order of additions as scikit-learn: baseline, then tree by tree
        raw = np.zeros(len(X), dtype=np.float64) + self.baseline
        for tree in self.trees:
            raw += tree.predict(cols)
        return raw

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "features": list(self.features),
            "categories": [
                [column, list(values), _floats_out(self.category_codes[column])]
                for column, values in self.categories.items()
            ],
            "baseline": float(self.baseline),
            "known_categories": {str(f): [int(w) for w in b] for f, b in self.known.items()},
            "trees": [t.to_dict() for t in self.trees],
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> _BoostedModel:
        def get(key: str) -> Any:
            return _need(state, key, "the boosted model")

        raw_known = get("known_categories")
        if not isinstance(raw_known, Mapping):
            raise ValidationError("known_categories must be a mapping", field="known_categories")
        known = {int(f): _ints_in(b, name="known_categories") for f, b in raw_known.items()}
        categories: dict[str, list[Any]] = {}
        codes: dict[str, list[float]] = {}
        for entry in get("categories"):
            if not (
                isinstance(entry, list) and len(entry) == 3 and len(entry[1]) == len(entry[2])
            ):
                raise ValidationError(
                    "saved boosted model: each categories entry is [column, values, codes]",
                    field="categories",
                )
            column = str(entry[0])
            categories[column] = list(entry[1])
            codes[column] = list(_floats_in(entry[2], name="categories"))
        features = [str(c) for c in get("features")]
        if not set(categories) <= set(features):
            raise ValidationError(
                "saved boosted model: a categorical column is not a feature", field="categories"
            )
        trees = [_tree_from_dict(t, known) for t in get("trees")]
        if any(int(t.feature[~t.is_leaf].max(initial=0)) >= len(features) for t in trees):
            raise ValidationError(
                "saved boosted model: a tree reads a missing feature", field="trees"
            )
        return cls(
            features=features,
            categories=categories,
            category_codes=codes,
            baseline=float(_floats_in([get("baseline")], name="baseline")[0]),
            trees=trees,
            known=known,
        )

    @classmethod
    def from_pipeline(
        cls, pipeline: Any, numeric: list[str], categorical: list[str]
    ) -> _BoostedModel:
        outer = pipeline.steps[0][1]
        booster = pipeline.steps[-1][1]
        _check_tree_layout(booster)
        # Since scikit-learn 1.4 the booster re-encodes categorical columns and moves
        # them first; the trees index that order and split on those codes.
        inner = getattr(booster, "_preprocessor", None)
        names = [*numeric, *categorical]
        order = list(range(len(names))) if inner is None else _inner_order(inner, len(names))
        features = [names[i] for i in order]
        categories: dict[str, list[Any]] = {}
        codes: dict[str, list[float]] = {}
        if categorical:
            encoder = {name: part for name, part, _ in outer.transformers_}["cat"]
            for j, column in enumerate(categorical):
                values = _categories_out(encoder.categories_[j], column=column)
                if not values:
                    continue
                probe = _frame(numeric, categorical, len(values), encoder.categories_)
                probe[column] = pd.Series(values, dtype=object)
                Z = outer.transform(probe)
                if inner is not None:
                    Z = inner.transform(Z)
                categories[column] = values
                codes[column] = [float(v) for v in Z[:, features.index(column)]]
        known_sets, f_idx_map = booster._bin_mapper.make_known_categories_bitsets()
        remapped = getattr(booster, "_is_categorical_remapped", booster.is_categorical_)
        is_cat = np.asarray([] if remapped is None else remapped, dtype=bool)
        known = {
            int(f): np.asarray(known_sets[f_idx_map[f]], dtype=np.int64)
            for f in np.flatnonzero(is_cat)
        }
        trees = [_tree_from_nodes(predictor, known) for (predictor,) in booster._predictors]
        model = cls(
            features=features,
            categories=categories,
            category_codes=codes,
            baseline=float(np.asarray(booster._baseline_prediction).ravel()[0]),
            trees=trees,
            known=known,
        )
        model._check_replay(pipeline, numeric, categorical, _encoder_categories(outer))
        return model

    def _check_replay(
        self, pipeline: Any, numeric: list[str], categorical: list[str], cats: list[Any]
    ) -> None:
        """Refuse unless the trees as read give the pipeline's own decision, exactly.

        The probe rows reach every side of every split: each numeric threshold
        and its neighbours, NaN, every known category, an unknown and a
        missing one.
        """
        values: dict[str, list[Any]] = {c: [np.nan, 0.0] for c in numeric}
        for tree in self.trees:
            for node in tree.splits:
                if int(node) in tree.goes_right:
                    continue
                t = float(tree.threshold[node])
                column = self.features[int(tree.feature[node])]
                values[column] += [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
        for column in categorical:
            values[column] = [*self.categories.get(column, []), "\x00unknown", np.nan]
        values = {c: list(dict.fromkeys(v)) for c, v in values.items()}  # each value once
        n = 4 * max(len(v) for v in values.values())
        rng = np.random.default_rng(0)
        probe = _frame(numeric, categorical, n, cats)
        for column, v in values.items():
            draw = np.asarray(v, dtype=object if column in categorical else np.float64)
            col = rng.choice(draw, size=n)
            col[: len(v)] = draw  # every value at least once
            probe[column] = pd.Series(col, dtype=object if column in categorical else None)
        ours = self.decision(probe)
        theirs = np.asarray(pipeline.decision_function(probe), dtype=np.float64).ravel()
        if not np.array_equal(ours, theirs):
            _refuse_trees("the trees as read do not reproduce its predictions")


def _encoder_categories(outer: Any) -> list[Any]:
    """Return the categories the pipeline's ordinal encoder learned (none without categories)."""
    parts = {name: part for name, part, _ in outer.transformers_}
    encoder = parts.get("cat")
    return list(getattr(encoder, "categories_", []))


def _frame(numeric: list[str], categorical: list[str], n: int, cats: list[Any]) -> pd.DataFrame:
    """Build ``n`` rows with every column: zeros, and each category's first value."""
    data: dict[str, Any] = {c: np.zeros(n) for c in numeric}
    for column, c in zip(categorical, cats, strict=False):
        data[column] = pd.Series([c[0] if len(c) else "x"] * n, dtype=object)
    return pd.DataFrame(data)


def _inner_order(inner: Any, width: int) -> list[int]:
    """Input columns in the order the booster's own column transformer outputs them."""
    order: list[int] = []
    for name, _, cols in inner.transformers_:
        if name == "remainder":
            continue
        idx = np.arange(width)[np.asarray(cols)] if np.asarray(cols).dtype == bool else cols
        order += [int(i) for i in np.atleast_1d(idx)]
    if sorted(order) != list(range(width)):
        _refuse_trees("its own column encoding is not the one crmcore knows")
    return order


def _tree_from_nodes(predictor: Any, known: Mapping[int, IntArray]) -> _Tree:
    nodes = predictor.nodes
    categorical_nodes = np.flatnonzero(
        nodes["is_categorical"].astype(bool) & ~nodes["is_leaf"].astype(bool)
    )
    bitsets = np.asarray(predictor.raw_left_cat_bitsets, dtype=np.int64)
    return _Tree.build(
        value=np.asarray(nodes["value"], dtype=np.float64),
        feature=np.asarray(nodes["feature_idx"], dtype=np.int64),
        threshold=np.asarray(nodes["num_threshold"], dtype=np.float64),
        missing_left=nodes["missing_go_to_left"],
        left=np.asarray(nodes["left"], dtype=np.int64),
        right=np.asarray(nodes["right"], dtype=np.int64),
        is_leaf=nodes["is_leaf"],
        categorical_nodes=categorical_nodes,
        left_bitsets=bitsets[nodes["bitset_idx"][categorical_nodes]].reshape(-1, _BITSET_WORDS),
        known=known,
    )


def _tree_from_dict(t: Any, known: Mapping[int, IntArray]) -> _Tree:
    def get(key: str) -> Any:
        return _need(t, key, "a tree")

    bitsets = [_ints_in(r, name="left_bitsets") for r in get("left_bitsets")]
    return _Tree.build(
        value=_floats_in(get("value"), name="value"),
        feature=_ints_in(get("feature"), name="feature"),
        threshold=_floats_in(get("threshold"), name="threshold"),
        missing_left=get("missing_left"),
        left=_ints_in(get("left"), name="left"),
        right=_ints_in(get("right"), name="right"),
        is_leaf=get("is_leaf"),
        categorical_nodes=_ints_in(get("categorical_nodes"), name="categorical_nodes"),
        left_bitsets=np.array(bitsets, dtype=np.int64).reshape(-1, _BITSET_WORDS),
        known=known,
    )


def _refuse_trees(why: str) -> None:
    import sklearn  # noqa: PLC0415

    raise ValidationError(
        f"cannot save this hist_gradient_boosting ChurnClassifier: crmcore reads the fitted "
        f"trees of scikit-learn's HistGradientBoostingClassifier, whose layout is not public "
        f"API, and with scikit-learn {sklearn.__version__} {why}. A model='logistic' "
        "classifier saves with any scikit-learn version; or save with the scikit-learn "
        "version crmcore is tested on (see docs/churn.rst)",
        field="model",
    )


def _check_tree_layout(booster: Any) -> None:
    """Refuse unless the private attributes the tree reader uses are there, as it expects."""
    predictors = getattr(booster, "_predictors", None)
    mapper = getattr(booster, "_bin_mapper", None)
    if (
        not isinstance(predictors, list)
        or not hasattr(booster, "_baseline_prediction")
        or not hasattr(mapper, "make_known_categories_bitsets")
        or getattr(booster, "n_trees_per_iteration_", None) != 1
    ):
        _refuse_trees("its attributes are not the ones crmcore knows")
    for trees in predictors or []:
        nodes = getattr(trees[0], "nodes", None) if len(trees) == 1 else None
        names = getattr(getattr(nodes, "dtype", None), "names", None) or ()
        if nodes is None or not set(_NODE_FIELDS) <= set(names):
            _refuse_trees("its tree nodes are not laid out as crmcore expects")


_MODELS: dict[str, Any] = {m.kind: m for m in (_LinearModel, _BoostedModel)}


# ---------------------------------------------------------------- the whole model


@dataclass(frozen=True)
class PortableModel:
    """A fitted churn model as arrays: the same ``predict_proba`` without scikit-learn objects.

    Attributes
    ----------
    model : the logistic or boosted model
        Column encoding and decision function.
    calibration : the calibration map
        Decision -> churn probability.
    """

    model: Any
    calibration: Any

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """``[P(stay), P(churn)]`` per row, as scikit-learn's calibrated classifier gives it."""
        p = self.calibration(self.model.decision(X))
        proba = np.column_stack([1.0 - p, p])
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0  # as scikit-learn rounds
        return proba

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready arrays of the model and its calibration."""
        return {"model": self.model.to_dict(), "calibration": self.calibration.to_dict()}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> PortableModel:
        """Read :meth:`to_dict` output.

        Raises
        ------
        ValidationError
            An unknown model or calibration kind, or arrays that do not fit
            together.
        """
        model_state = _need(state, "model", "the saved model")
        cal_state = _need(state, "calibration", "the saved model")
        model_cls = _MODELS.get(_need(model_state, "kind", "the model"))
        cal_cls = _CALIBRATIONS.get(_need(cal_state, "kind", "the calibration"))
        if model_cls is None or cal_cls is None:
            raise ValidationError(
                f"saved model of unknown kind {model_state.get('kind')!r} / "
                f"{cal_state.get('kind')!r} (known: {', '.join(_MODELS)}; "
                f"{', '.join(_CALIBRATIONS)})",
                field="kind",
            )
        return cls(model_cls.from_dict(model_state), cal_cls.from_dict(cal_state))


def portable(fitted: Any, *, model: str, calibration: str | None) -> PortableModel:
    """Read a fitted ChurnClassifier model (pipeline, maybe calibrated) into arrays.

    Raises
    ------
    ValidationError
        A category that JSON cannot hold, or boosted trees whose layout this
        scikit-learn does not match (see the module docstring).
    """
    if isinstance(fitted, PortableModel):
        return fitted
    if calibration is None:
        pipeline, cal = fitted, _Logistic()
    else:
        (part,) = fitted.calibrated_classifiers_  # ensemble=False: one model, one map
        pipeline = getattr(part.estimator, "estimator", part.estimator)  # FrozenEstimator
        (calibrator,) = part.calibrators
        cal = _CALIBRATIONS[calibration].from_sklearn(calibrator)
    columns = {name: list(cols) for name, _, cols in pipeline.steps[0][1].transformers_}
    numeric = [str(c) for c in columns.get("num", [])]
    categorical = [str(c) for c in columns.get("cat", [])]
    return PortableModel(_MODELS[model].from_pipeline(pipeline, numeric, categorical), cal)
