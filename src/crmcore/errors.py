"""Exceptions and warnings raised by crmcore.

Every error crmcore raises on purpose derives from :class:`CrmCoreError`, and
most also derive from the builtin a caller would naturally catch, so that
``except ValueError`` or ``except KeyError`` keeps working in code that does
not know about crmcore::

    CrmCoreError (Exception)
    ├── ValidationError (+ ValueError)          bad input: names field / row / value
    │   └── RuleSyntaxError                     a segment rule that does not parse
    ├── NotFound (+ KeyError)                   no record with that id
    ├── ConcurrencyConflict                     stale version on update
    ├── InvalidTransition                       workflow move not allowed
    ├── NotFittedError (+ sklearn's)            query before ``fit``  [*]
    ├── ConvergenceError (+ RuntimeError)       optimiser failed; keeps its result
    ├── SchemaVersionError                      database written by another schema
    │   └── SchemaMismatchError                 tables unlike the version they record
    └── StoreUnavailable                        a database that cannot be opened

    CrmCoreWarning (UserWarning)
    ├── ConvergenceWarning (+ sklearn's)        fit finished but is doubtful  [*]
    └── DataWarning                             input accepted but suspicious

Messages always say what is wrong, where (field, row, customer id) and what
would have been accepted.

[*] These two also subclass scikit-learn's classes of the same name, so
``except sklearn.exceptions.NotFittedError`` catches crmcore's. They are built
on first use (the first ``crmcore.errors.NotFittedError`` or ``from
crmcore.errors import NotFittedError``), which imports scikit-learn then:
importing this module alone, and with it ``crmcore``, ``crmcore.domain`` and
``crmcore.storage``, does not.
"""

from __future__ import annotations

import _thread
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ConcurrencyConflict",
    "ConvergenceError",
    "ConvergenceWarning",
    "CrmCoreError",
    "CrmCoreWarning",
    "DataWarning",
    "InvalidTransition",
    "NotFittedError",
    "NotFound",
    "RuleSyntaxError",
    "SchemaMismatchError",
    "SchemaVersionError",
    "StoreUnavailable",
    "ValidationError",
]

_MISSING: Any = object()


def _rebuild(cls: type[CrmCoreError], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)


class CrmCoreError(Exception):
    """Root of every exception crmcore raises on purpose.

    Errors remember how they were constructed, so that they survive pickling
    (multiprocessing, Dask workers) even though most take keyword arguments.
    """

    _init_args: tuple[tuple[Any, ...], dict[str, Any]]

    def __new__(cls, *args: Any, **kwargs: Any) -> CrmCoreError:  # noqa: D102
        self = super().__new__(cls, *args)
        self._init_args = (args, kwargs)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        args, kwargs = self._init_args
        return (_rebuild, (type(self), args, kwargs))


class ValidationError(CrmCoreError, ValueError):
    """Input that crmcore refuses, with the place it was found.

    Parameters
    ----------
    message : str
        Human-readable explanation: what is wrong and what is allowed.
    field : str, optional
        The field, column or argument at fault.
    row : hashable, optional
        The row label (for example the customer id) or position at fault.
    value : object, optional
        The offending value.

    Attributes
    ----------
    field, row, value
        As given; ``None`` (``value``: unset) where not applicable.

    Examples
    --------
    >>> err = ValidationError("frequency must be >= 0", field="frequency", row="c7", value=-1)
    >>> err.field, err.row, err.value
    ('frequency', 'c7', -1)
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: Hashable | None = None,
        value: Any = _MISSING,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.row = row
        self.value = None if value is _MISSING else value
        self.has_value = value is not _MISSING

    def __str__(self) -> str:
        return self.message


class RuleSyntaxError(ValidationError):
    """A segment rule that cannot be parsed.

    Parameters
    ----------
    message : str
        What went wrong.
    text : str
        The full rule text.
    position : int
        Zero-based character offset where parsing failed.
    expected : sequence of str, optional
        What the parser would have accepted at ``position``.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str,
        position: int,
        expected: Sequence[str] = (),
    ) -> None:
        self.text = text
        self.position = position
        self.expected = tuple(expected)
        caret = " " * position + "^"
        full = f"{message} at position {position}\n  {text}\n  {caret}"
        if self.expected:
            full += "\nexpected: " + ", ".join(self.expected)
        super().__init__(full, field="rule", value=text)


class NotFound(CrmCoreError, KeyError):
    """No record of the given aggregate with the given id.

    Parameters
    ----------
    aggregate : str
        The aggregate (repository) name, for example ``"customers"``.
    id : hashable
        The identifier that was looked up.

    Examples
    --------
    >>> str(NotFound("customers", "c42"))
    "customers: no record with id 'c42'"
    """

    def __init__(self, aggregate: str, id: Hashable) -> None:
        self.aggregate = aggregate
        self.id = id
        self.message = f"{aggregate}: no record with id {id!r}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError would quote the message; show it as written.
        return self.message


class ConcurrencyConflict(CrmCoreError):
    """An update based on a stale version of a record.

    Parameters
    ----------
    aggregate : str
        The aggregate name.
    id : hashable
        The record's identifier.
    expected_version : int
        The version the caller's entity carried.
    actual_version : int or None
        The version currently stored (``None`` if the record vanished).
    """

    def __init__(
        self,
        aggregate: str,
        id: Hashable,
        *,
        expected_version: int,
        actual_version: int | None,
    ) -> None:
        self.aggregate = aggregate
        self.id = id
        self.expected_version = expected_version
        self.actual_version = actual_version
        stored = "was removed" if actual_version is None else f"is at version {actual_version}"
        super().__init__(
            f"{aggregate} {id!r}: update based on version {expected_version} but the stored "
            f"record {stored}; reload it and apply the change again"
        )


class InvalidTransition(CrmCoreError):
    """A workflow move that the workflow definition does not allow.

    Parameters
    ----------
    message : str
        Explanation (which move, why refused).
    current : str
        The entity's current stage.
    target : str
        The stage that was requested.
    allowed : sequence of str
        The stages reachable from ``current``.
    """

    def __init__(self, message: str, *, current: str, target: str, allowed: Sequence[str]) -> None:
        self.current = current
        self.target = target
        self.allowed = tuple(allowed)
        super().__init__(message)


class ConvergenceError(CrmCoreError, RuntimeError):
    """The optimiser did not reach an optimum.

    Parameters
    ----------
    message : str
        What failed and what to try.
    result : object, optional
        The optimiser's own result object (for example
        :class:`scipy.optimize.OptimizeResult`), kept for inspection.
    """

    def __init__(self, message: str, *, result: Any = None) -> None:
        self.result = result
        super().__init__(message)


class SchemaVersionError(CrmCoreError):
    """A database was created by a different crmcore schema version.

    Parameters
    ----------
    found : int or None
        The schema version recorded in the database (``None`` if absent).
    expected : int
        The schema version this crmcore release reads and writes.
    """

    def __init__(self, message: str, *, found: int | None, expected: int) -> None:
        self.found = found
        self.expected = expected
        super().__init__(message)


class SchemaMismatchError(SchemaVersionError):
    """The tables do not have the layout of the schema version the database records.

    Tables altered by hand, or created for other aggregates (an application's
    own :class:`~crmcore.storage.AggregateSpec`) under the same version: a
    store would otherwise fail later with raw SQL errors. Raised when the
    store is opened (or on :meth:`~crmcore.storage.SqlStore.create_schema`);
    nothing was read or written.

    Parameters
    ----------
    found : int or None
        The schema version recorded in the database.
    expected : int
        The schema version this crmcore release reads and writes.
    problems : sequence of str
        One line per table that differs: what is missing or unexpected.
    """

    def __init__(
        self, message: str, *, found: int | None, expected: int, problems: Sequence[str] = ()
    ) -> None:
        self.problems = tuple(problems)
        super().__init__(message, found=found, expected=expected)


class StoreUnavailable(CrmCoreError):
    """A database could not be opened.

    No driver for its dialect, a server that cannot be reached or refuses the
    credentials, or a file that is not a database. The message names the URL
    without its password and the database's own reason (one line). Nothing
    was read or written.

    Parameters
    ----------
    url : str
        The URL, password hidden.
    """

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


class CrmCoreWarning(UserWarning):
    """Root of the warnings crmcore emits."""


class DataWarning(CrmCoreWarning):
    """Input was accepted, but something about it deserves attention."""


# ---------------------------------------------------------------- built on first use
#
# NotFittedError and ConvergenceWarning subclass scikit-learn's classes, so that
# ``except sklearn.exceptions.NotFittedError`` (which tests real subclassing, not
# ``isinstance`` hooks) catches ours. Importing scikit-learn costs about a second
# and 1,400 modules, which the domain, the stores and the command's --help never
# need: the two classes are made by the module ``__getattr__`` the first time
# either name is looked up, once, and then live in the module like any other
# (pickle finds them by name).

_NOT_FITTED_DOC = """A model was queried before :meth:`fit` was called.

    Also an instance of :class:`sklearn.exceptions.NotFittedError` (and so of
    ``ValueError`` and ``AttributeError``).
    """
_CONVERGENCE_DOC = """A fit finished, but the optimiser's result is doubtful.

    Also a :class:`sklearn.exceptions.ConvergenceWarning`.
    """

if TYPE_CHECKING:

    class NotFittedError(CrmCoreError, _SklearnNotFittedError):  # noqa: D101 -- _NOT_FITTED_DOC
        pass

    class ConvergenceWarning(CrmCoreWarning, _SklearnConvergenceWarning):  # noqa: D101
        pass


# name -> (our base, docstring); the scikit-learn base has the same name
_SKLEARN_BASED: dict[str, tuple[type, str]] = {
    "NotFittedError": (CrmCoreError, _NOT_FITTED_DOC),
    "ConvergenceWarning": (CrmCoreWarning, _CONVERGENCE_DOC),
}
_build_lock = _thread.allocate_lock()  # not `threading`: one import less for a light module


def __getattr__(name: str) -> Any:
    if name not in _SKLEARN_BASED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _build_lock:  # two threads must not make two different classes
        if name in globals():
            return globals()[name]
        from sklearn import exceptions  # noqa: PLC0415 -- deferred: see above

        ours, doc = _SKLEARN_BASED[name]
        cls = type(
            name, (ours, getattr(exceptions, name)), {"__doc__": doc, "__module__": __name__}
        )
        globals()[name] = cls
        return cls


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
