"""The crmcore pytest plugin: ``crm_store``, ``sample_company`` and ``crm_factory``.

Installed with crmcore (the ``pytest11`` entry point ``crmcore.testing.plugin``),
inert until a test asks for one of its fixtures: importing this module imports
pytest and nothing of crmcore's numeric stack.

Fixtures
--------
crm_store
    A fresh, empty store per test: in memory by default;
    ``pytest --crm-store=sqlite`` gives each test its own SQLite file and
    ``--crm-store=postgresql+psycopg://user:pw@host/db`` a PostgreSQL schema
    (created for the session, emptied before each test, dropped at the end).
    The same tests run unchanged on each.
sample_company
    The synthetic company of :func:`crmcore.datasets.make_company`, seeded:
    200 customers, seed 0 unless the test is marked
    ``@pytest.mark.crm_sample(n_customers=..., random_state=..., store=True)``;
    with ``store=True`` it is also written into ``crm_store``. Each test gets
    its own copy (generated once per size and seed per session).
crm_factory
    A :class:`~crmcore.testing.Factory` bound to ``crm_store``: valid
    entities with sequential ids, any field overridden by keyword.
crm_store_maker
    The session's :class:`~crmcore.testing.StoreMaker`, to make more stores in
    one test (for example, a second store to compare against).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

__all__ = [
    "crm_factory",
    "crm_store",
    "crm_store_maker",
    "pytest_addoption",
    "pytest_configure",
    "sample_company",
]

_SAMPLE_DEFAULTS: dict[str, Any] = {"n_customers": 200, "random_state": 0, "store": False}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--crm-store`` (and the ``crm_store`` ini setting)."""
    group = parser.getgroup("crmcore", "crmcore fixtures")
    group.addoption(
        "--crm-store",
        dest="crm_store",
        default=None,
        metavar="KIND",
        help="store behind the crm_store fixture: memory (default), sqlite, "
        "or a PostgreSQL URL such as postgresql+psycopg://user:pw@host/db",
    )
    parser.addini("crm_store", "default for --crm-store", default="memory")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``crm_sample`` marker and check ``--crm-store`` early."""
    config.addinivalue_line(
        "markers",
        "crm_sample(n_customers=200, random_state=0, store=False, **kwargs): "
        "the sample_company this test gets (kwargs go to crmcore.datasets.make_company)",
    )
    chosen = _option(config)
    if chosen != "memory":  # only then import crmcore: the plugin stays inert otherwise
        from crmcore.testing._stores import store_kind  # noqa: PLC0415 -- inert until used

        try:
            store_kind(chosen)
        except ValueError as exc:  # ValidationError is a ValueError
            raise pytest.UsageError(str(exc)) from None


def _option(config: pytest.Config) -> str:
    value = config.getoption("crm_store", default=None)
    return str(value if value is not None else config.getini("crm_store"))


@pytest.fixture(scope="session")
def crm_store_maker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Session store maker: SQLite template and PostgreSQL schemas, cleaned up at the end."""
    from crmcore.testing._stores import StoreMaker  # noqa: PLC0415 -- inert until used

    maker = StoreMaker(tmp_path_factory.mktemp("crmcore-stores"))
    try:
        yield maker
    finally:
        maker.close()


@pytest.fixture
def crm_store(
    request: pytest.FixtureRequest, crm_store_maker: Any, tmp_path: Any
) -> Iterator[Any]:
    """Yield a fresh, empty store (memory, SQLite or PostgreSQL: see ``--crm-store``)."""
    store = crm_store_maker.make(_option(request.config), tmp_path)
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


@pytest.fixture(scope="session")
def _crm_sample_cache() -> dict[tuple[Any, ...], Any]:
    return {}


@pytest.fixture
def sample_company(request: pytest.FixtureRequest, _crm_sample_cache: dict[Any, Any]) -> Any:
    """Return a seeded sample company (``crm_sample`` marker to size it or store it)."""
    from crmcore.testing._factories import copy_company  # noqa: PLC0415 -- inert until used

    options = dict(_SAMPLE_DEFAULTS)
    marker = request.node.get_closest_marker("crm_sample")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("crm_sample takes keyword arguments only")
        options.update(marker.kwargs)
    store = bool(options.pop("store"))
    key = tuple(sorted((k, repr(v)) for k, v in options.items()))
    if key not in _crm_sample_cache:
        from crmcore.datasets import make_company  # noqa: PLC0415 -- inert until used

        _crm_sample_cache[key] = make_company(**options)
    company = copy_company(_crm_sample_cache[key])
    if store:
        from crmcore.datasets import write_company  # noqa: PLC0415 -- inert until used

        write_company(company, request.getfixturevalue("crm_store"))
    return company


@pytest.fixture
def crm_factory(crm_store: Any) -> Any:
    """Return a factory of valid entities, stored on request (``crm_factory.add``)."""
    from crmcore.testing._factories import Factory  # noqa: PLC0415 -- inert until used

    return Factory(store=crm_store)
