"""Behavioural clustering of customers: scaling, (MiniBatch)KMeans, profiles."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score

from crmcore._jsonfile import read_json
from crmcore._types import FloatArray, IntArray, RandomState
from crmcore._validation import (
    as_float_array,
    check_columns,
    check_non_empty,
    check_random_state,
)
from crmcore.errors import NotFittedError, ValidationError
from crmcore.segmentation._segmenter_input import Checked, as_frame, check_params
from crmcore.segmentation._segmenter_state import (
    MODEL,
    dump_fitted,
    load_fitted,
)

__all__ = ["Segmenter"]

_FITTED = ("center_", "scale_", "cluster_centers_")


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Cluster customers on behavioural features, with readable profiles.

    Each feature is optionally ``log1p``-transformed (spend and counts are
    heavily skewed), then robustly scaled (minus the median, divided by the
    inter-quartile range; by the standard deviation if the IQR is zero, by 1
    if that is zero too). KMeans runs on the scaled features; above
    ``minibatch_threshold`` rows :class:`~sklearn.cluster.MiniBatchKMeans` is
    used instead. With ``n_clusters="auto"`` each ``k`` in ``k_range`` is
    fitted on a seeded sample of ``sample_size`` rows and the ``k`` with the
    highest silhouette score (Rousseeuw, 1987) is kept (the smaller ``k`` on
    ties).

    Cluster labels are ordered by value: label 0 is the cluster with the
    highest mean ``value_col``, so labels are stable across refits.

    A scikit-learn estimator: ``__init__`` stores the keyword
    hyper-parameters unchanged, :meth:`fit` validates them and the data and
    returns ``self``, fitted attributes end in ``_``, and ``get_params`` /
    ``set_params`` / :func:`sklearn.base.clone` work. It saves to JSON
    (:meth:`to_dict` / :meth:`save`), never pickle, and checks every field
    of what it reads back.

    Parameters
    ----------
    features : sequence of str or None, default None
        Columns to cluster on (``None``: every numeric column of ``X``).
    n_clusters : int or "auto", default "auto"
        Number of clusters, or ``"auto"`` to choose by silhouette.
    k_range : tuple of int, default (2, 8)
        Smallest and largest ``k`` tried by ``"auto"`` (inclusive).
    log_transform : bool, default True
        Apply ``log1p`` before scaling (features must then be ``>= 0``).
    value_col : str or None, default None
        Column (a feature or another column of ``X``) that orders the labels
        and gives each cluster's share of value; ``None``: the first feature.
        (``X`` is one row per customer, not a transaction log, so there is
        no ``"amount"`` default here.)
    minibatch_threshold : int, default 100_000
        Row count above which MiniBatchKMeans replaces KMeans.
    sample_size : int, default 3_000
        Rows sampled (without replacement) to choose ``k``.
    batch_size : int, default 4096
        MiniBatchKMeans batch size.
    max_iter : int, default 300
        Iteration cap for KMeans (MiniBatchKMeans: passes over the data).
    random_state : int, Generator or None, default None
        Seed for sampling and k-means initialisation.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Features used.
    n_features_in_ : int
        Number of features.
    n_clusters_ : int
        Number of clusters fitted.
    labels_ : ndarray of int
        Cluster of each training row (0 = highest value).
    cluster_centers_ : ndarray of shape (``n_clusters_``, ``n_features_in_``)
        Centres in the scaled space, in label order.
    center_, scale_ : ndarray
        Scaling parameters (applied after ``log1p``).
    profiles_ : DataFrame
        One row per cluster: ``size``, ``share`` (of customers), each feature's
        centroid in original units (the centre mapped back through the
        scaling and ``expm1``: a robust "typical" value), ``value_mean`` and
        ``value_share`` (share of total ``value_col``).
    silhouette_scores_ : dict of int to float
        Silhouette score per ``k`` tried (empty unless ``n_clusters="auto"``).
    inertia_ : float
        Within-cluster sum of squared distances (scaled space).
    n_iter_ : int
        Iterations (MiniBatchKMeans: passes) the final k-means run took.
    algorithm_ : str
        ``"kmeans"`` or ``"minibatch"``.
    value_col_ : str
        The column that ordered the labels.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(
    ...     {
    ...         "spend": np.r_[rng.gamma(2, 10, 300), rng.gamma(2, 500, 100)],
    ...         "orders": np.r_[rng.poisson(1, 300), rng.poisson(12, 100)],
    ...     }
    ... )
    >>> seg = Segmenter(n_clusters=2, random_state=0).fit(X)
    >>> seg.profiles_["size"].tolist()
    [100, 300]
    >>> bool((seg.predict(X) == seg.labels_).all())
    True
    """

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        n_clusters: int | str = "auto",
        k_range: tuple[int, int] = (2, 8),
        log_transform: bool = True,
        value_col: str | None = None,
        minibatch_threshold: int = 100_000,
        sample_size: int = 3_000,
        batch_size: int = 4096,
        max_iter: int = 300,
        random_state: RandomState = None,
    ) -> None:
        self.features = features
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.log_transform = log_transform
        self.value_col = value_col
        self.minibatch_threshold = minibatch_threshold
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.random_state = random_state

    # -- helpers ---------------------------------------------------------
    def _checked(self) -> Checked:
        """Validate the hyper-parameters (never in ``__init__``: clone must work)."""
        return check_params(self)

    def _feature_names(self, X: pd.DataFrame) -> list[str]:
        if self.features is None:
            names = [
                str(c)
                for c in X.columns
                if pd.api.types.is_numeric_dtype(X[c].dtype)
                and not pd.api.types.is_bool_dtype(X[c].dtype)
            ]
            if not names:
                raise ValidationError("X has no numeric columns to cluster on", field="features")
            return names
        return [str(f) for f in self.features]

    def _raw(self, X: pd.DataFrame, names: Sequence[str]) -> FloatArray:
        check_columns(X, names, name="X")
        cols = []
        for name in names:
            col = as_float_array(X[name], name=name, row_name="customer")
            if self.log_transform and (col < 0).any():
                pos = int(np.flatnonzero(col < 0)[0])
                raise ValidationError(
                    f"{name} must be >= 0 when log_transform=True; got {col[pos]!r} for "
                    f"customer {X.index[pos]!r}",
                    field=name,
                    row=X.index[pos],
                    value=float(col[pos]),
                )
            cols.append(col)
        return np.column_stack(cols)

    def _transform(self, raw: FloatArray, center: FloatArray, scale: FloatArray) -> FloatArray:
        z: FloatArray = np.log1p(raw) if self.log_transform else raw.copy()
        z -= center
        z /= scale
        return z

    def _inverse(self, z: FloatArray, center: FloatArray, scale: FloatArray) -> FloatArray:
        x: FloatArray = z * scale + center
        out: FloatArray = np.expm1(x) if self.log_transform else x
        return out

    def _check_fitted(self) -> None:
        if not all(hasattr(self, a) for a in _FITTED):
            raise NotFittedError("this Segmenter is not fitted yet; call fit(X) before using it")

    @staticmethod
    def _assign(z: FloatArray, centers: FloatArray) -> tuple[IntArray, float]:
        best = np.full(z.shape[0], np.inf)
        labels = np.zeros(z.shape[0], dtype=np.int64)
        for j, c in enumerate(centers):
            d = np.square(z - c).sum(axis=1)
            closer = d < best
            best[closer] = d[closer]
            labels[closer] = j
        return labels, float(best.sum())

    # -- estimator API ---------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> Segmenter:
        """Choose ``k`` (if ``"auto"``), cluster ``X`` and build the profiles.

        Parameters
        ----------
        X : DataFrame or 2-D array-like
            One row per customer (an array's columns are named ``x0, x1, ...``
            and all of them are features).
        y : ignored
            Clustering is unsupervised; present for scikit-learn
            compatibility (pipelines pass it).

        Returns
        -------
        Segmenter
            ``self``, fitted.

        Raises
        ------
        ValidationError
            Bad hyper-parameters, empty, sparse or non-2-D ``X``, missing or
            non-numeric columns, non-finite values, negative values with
            ``log_transform``, or fewer distinct rows than clusters.
        """
        checked = self._checked()
        from_array = not isinstance(X, pd.DataFrame)
        X = as_frame(X)
        if X.shape[1] == 0:
            raise ValidationError(
                f"X has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.",
                field="X",
            )
        check_non_empty(X, name="X")
        # an array has no names to pick numeric columns by: every column is a feature
        if from_array and self.features is None:
            names = [str(c) for c in X.columns]
        else:
            names = self._feature_names(X)
        value_name = names[0] if self.value_col is None else self.value_col
        auto, k_lo, k_hi = checked.auto, checked.k_lo, checked.k_hi
        threshold, sample_size = checked.threshold, checked.sample_size
        batch_size, max_iter = checked.batch_size, checked.max_iter
        raw = self._raw(X, names)
        check_columns(X, [value_name], name="X")
        value = as_float_array(X[value_name], name=value_name, row_name="customer")
        n = raw.shape[0]
        rng = check_random_state(self.random_state)

        base = np.log1p(raw) if self.log_transform else raw
        center = np.median(base, axis=0)
        q75, q25 = np.percentile(base, [75, 25], axis=0)
        scale = q75 - q25
        std = base.std(axis=0)
        scale = np.where(scale > 0, scale, np.where(std > 0, std, 1.0))
        # Nothing is stored on self until every check below has passed, so a
        # failed fit leaves the estimator exactly as it was (unfitted, or
        # still holding its previous fit).
        z = self._transform(raw, center, scale)

        distinct = np.unique(z, axis=0).shape[0] if n <= 200_000 else n
        if distinct < k_lo:
            raise ValidationError(
                f"X has {distinct} distinct rows, fewer than the {k_lo} clusters asked for",
                field="n_clusters",
                value=k_lo,
            )
        scores: dict[int, float] = {}
        if auto:
            m = min(n, sample_size)
            sample = z[rng.choice(n, size=m, replace=False)] if m < n else z
            n_distinct = np.unique(sample, axis=0).shape[0]
            for k in range(k_lo, min(k_hi, n_distinct - 1, m - 1) + 1):
                km = KMeans(
                    n_clusters=k,
                    n_init="auto",
                    max_iter=max_iter,
                    random_state=int(rng.integers(2**31 - 1)),
                )
                labels = km.fit_predict(sample)
                if np.unique(labels).size < 2:
                    continue
                scores[k] = float(silhouette_score(sample, labels))
            if not scores:
                raise ValidationError(
                    "could not choose n_clusters: the sample has too few distinct rows",
                    field="n_clusters",
                )
            k = max(scores, key=lambda kk: (scores[kk], -kk))
        else:
            k = k_lo
        seed = int(rng.integers(2**31 - 1))
        if n > threshold:
            model: Any = MiniBatchKMeans(
                n_clusters=k,
                batch_size=batch_size,
                max_iter=max_iter,
                n_init="auto",
                random_state=seed,
            )
            algorithm = "minibatch"
        else:
            model = KMeans(n_clusters=k, n_init="auto", max_iter=max_iter, random_state=seed)
            algorithm = "kmeans"
        model.fit(z)
        n_iter = int(model.n_iter_)
        raw_centers = np.asarray(model.cluster_centers_, dtype=np.float64)
        raw_labels, _ = self._assign(z, raw_centers)
        size = np.bincount(raw_labels, minlength=k)
        vsum = np.bincount(raw_labels, weights=value, minlength=k)
        vmean = np.where(size > 0, vsum / np.maximum(size, 1), -np.inf)
        order = np.lexsort((np.arange(k), -vmean))
        relabel = np.empty(k, dtype=np.int64)
        relabel[order] = np.arange(k)
        cluster_centers = raw_centers[order]
        _, inertia = self._assign(z, cluster_centers)
        size = size[order]
        vsum = vsum[order]
        total = value.sum()
        profile: dict[str, Any] = {"size": size, "share": size / n}
        centroids = self._inverse(cluster_centers, center, scale)
        for j, name in enumerate(names):
            profile[name] = centroids[:, j]
        profile["value_mean"] = np.where(size > 0, vsum / np.maximum(size, 1), np.nan)
        profile["value_share"] = vsum / total if total != 0 else np.full(k, np.nan)

        self.center_ = center
        self.scale_ = scale
        self.algorithm_ = algorithm
        self.cluster_centers_ = cluster_centers
        self.labels_ = relabel[raw_labels]
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.n_clusters_ = k
        self.silhouette_scores_ = scores
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.value_col_ = value_name
        self.profiles_ = pd.DataFrame(profile, index=pd.RangeIndex(k, name="cluster"))
        return self

    def predict(self, X: pd.DataFrame) -> IntArray:
        """Label each row of ``X`` with its nearest cluster.

        Parameters
        ----------
        X : DataFrame or 2-D array-like
            One row per customer, with (at least) the columns the segmenter
            was fitted on; other columns are ignored. An array holds exactly
            the fitted features, in :attr:`feature_names_in_` order.

        Returns
        -------
        ndarray of int64
            Cluster label of each row, ``0`` being the cluster with the
            highest mean value (the order of :attr:`profiles_`).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            Missing or invalid feature columns (non-numeric, non-finite, or
            negative with ``log_transform``), naming the first bad row.

        Examples
        --------
        >>> import pandas as pd
        >>> X = pd.DataFrame({"spend": [10.0, 12.0, 11.0, 900.0, 950.0, 1000.0]})
        >>> seg = Segmenter(n_clusters=2, random_state=0).fit(X)
        >>> seg.predict(pd.DataFrame({"spend": [15.0, 980.0]})).tolist()
        [1, 0]
        """
        self._check_fitted()
        X = as_frame(X, [str(f) for f in self.feature_names_in_])
        raw = self._raw(X, list(self.feature_names_in_))
        z = self._transform(raw, self.center_, self.scale_)
        labels, _ = self._assign(z, self.cluster_centers_)
        return labels

    def transform(self, X: pd.DataFrame) -> FloatArray:
        """Scaled features of ``X`` (the space the clusters live in).

        Each feature is ``log1p``-transformed when ``log_transform`` is set,
        then centred on its training median and divided by its training
        inter-quartile range (:attr:`center_`, :attr:`scale_`).

        Parameters
        ----------
        X : DataFrame or 2-D array-like
            One row per customer, with the columns the segmenter was fitted
            on (an array: exactly those, in :attr:`feature_names_in_` order).

        Returns
        -------
        ndarray of float64, shape (n_rows, n_features_in_)
            The scaled features, columns in :attr:`feature_names_in_` order.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValidationError
            Missing or invalid feature columns.
        """
        self._check_fitted()
        X = as_frame(X, [str(f) for f in self.feature_names_in_])
        raw = self._raw(X, list(self.feature_names_in_))
        return self._transform(raw, self.center_, self.scale_)

    # -- persistence -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of hyper-parameters and fitted state.

        ``labels_`` (one per training row) is not kept. A generator
        ``random_state`` is stored as ``None``.

        Returns
        -------
        dict
            ``model``, ``params`` and ``fitted``; :meth:`from_dict` reads it
            back.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        params = self.get_params()
        if not isinstance(params["random_state"], int | None):
            params["random_state"] = None
        if params["features"] is not None:
            params["features"] = list(params["features"])
        params["k_range"] = list(params["k_range"])
        return {"model": MODEL, "params": params, "fitted": dump_fitted(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segmenter:
        """Rebuild a fitted Segmenter from :meth:`to_dict` output, checking every field.

        Parameters
        ----------
        data : dict
            The output of :meth:`to_dict` (or ``json.loads`` of it).

        Returns
        -------
        Segmenter
            A fitted segmenter that predicts as the saved one did.

        Raises
        ------
        ValidationError
            If ``data`` is not a valid serialised Segmenter: another model,
            unknown or invalid hyper-parameters, a missing field, a centre
            or scale that is not finite, a scale that is not positive, or
            arrays whose shapes disagree with the features and clusters. The
            error names the field (``fitted.scale_``).
        """
        given: Any = data
        if not isinstance(given, dict) or given.get("model") != MODEL:
            raise ValidationError(
                "not a serialised Segmenter (expected a dict with model='Segmenter')",
                field="model",
            )
        params: Any = given.get("params")
        if not isinstance(params, dict):
            raise ValidationError(
                "not a valid serialised Segmenter: params is missing", field="params"
            )
        known = set(cls().get_params())
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValidationError(
                f"not a valid serialised Segmenter: unknown params {unknown}; "
                f"known: {sorted(known)}",
                field="params",
                value=unknown,
            )
        params = dict(params)
        if isinstance(params.get("k_range"), list):
            params["k_range"] = tuple(params["k_range"])
        seg = cls(**params)
        seg._checked()
        state = load_fitted(given.get("fitted"), n_clusters=seg.n_clusters)
        if seg.features is not None and list(seg.features) != list(state["feature_names_in_"]):
            raise ValidationError(
                "not a valid serialised Segmenter: fitted.feature_names_in_ differs from "
                "params.features",
                field="fitted.feature_names_in_",
            )
        for name, value in state.items():
            setattr(seg, name, value)
        return seg

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON to ``path``.

        JSON, never pickle: the file holds only numbers and names, so loading
        it cannot run code.

        Parameters
        ----------
        path : str or Path
            File to write (UTF-8); an existing file is replaced.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> import pandas as pd, pathlib, tempfile
        >>> X = pd.DataFrame({"spend": [10.0, 12.0, 11.0, 900.0, 950.0, 1000.0]})
        >>> seg = Segmenter(n_clusters=2, random_state=0).fit(X)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "segmenter.json"
        ...     seg.save(path)
        ...     again = Segmenter.load(path)
        >>> again.predict(X).tolist() == seg.predict(X).tolist()
        True
        """
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Segmenter:
        """Read a Segmenter written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            A file written by :meth:`save`.

        Returns
        -------
        Segmenter
            The fitted segmenter.

        Raises
        ------
        ValidationError
            If the file is missing, not UTF-8 JSON, or does not hold a valid
            serialised Segmenter (see :meth:`from_dict`).
        """
        return cls.from_dict(read_json(path, what="Segmenter file"))
