"""Reductions for the hot loops, done without BLAS; BLAS pinned to one thread.

A BLAS ``ddot``/``dgemv`` on long vectors may start OpenBLAS worker threads;
on a machine whose cores are busy, waking (and then spinning) those threads
costs far more than the arithmetic and slows down everything around it,
including SciPy's optimiser. ``numpy.einsum`` sums products in a single
vectorised loop on the calling thread. SciPy's L-BFGS-B calls BLAS on tiny
matrices at every iteration; :func:`single_threaded_blas` limits BLAS to one
thread for the duration of a fit (as scikit-learn's ``KMeans`` does) and
restores the previous setting afterwards.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from crmcore._types import FloatArray

__all__ = ["dot", "matvec", "single_threaded_blas"]

_controller: list[Any] = []


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Return ``sum(a * b)`` for 1-D arrays (single-threaded)."""
    return float(np.einsum("i,i->", a, b))


def matvec(m: np.ndarray, v: np.ndarray) -> FloatArray:
    """Return ``m @ v`` for a 2-D ``m`` and 1-D ``v`` (single-threaded)."""
    return np.asarray(np.einsum("ij,j->i", m, v), dtype=np.float64)


def single_threaded_blas() -> AbstractContextManager[Any]:
    """Return a context manager that runs BLAS on one thread, then restores it."""
    if not _controller:
        _controller.append(ThreadpoolController())
    limiter: AbstractContextManager[Any] = _controller[0].limit(limits=1, user_api="blas")
    return limiter
