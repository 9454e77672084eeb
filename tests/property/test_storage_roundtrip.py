"""Repository round trips for every aggregate: what goes in comes out equal.

Runs on InMemoryStore and SqlStore on SQLite, and on PostgreSQL when
CRMCORE_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings

from crmcore.storage import InMemoryStore, SqlStore
from crmcore.testing.strategies import ENTITY_STRATEGIES
from tests.contract._stores import PG_SKIP, PG_URL, clean_pg, pg_engine  # noqa: F401 -- fixture

REPOSITORY = {
    "Customer": "customers",
    "Account": "accounts",
    "Contact": "contacts",
    "Lead": "leads",
    "Opportunity": "opportunities",
    "Activity": "activities",
    "Ticket": "tickets",
    "Campaign": "campaigns",
    "Order": "orders",
    "SurveyResponse": "survey_responses",
    "LoyaltyAccount": "loyalty_accounts",
}


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def module_store(request, tmp_path_factory):
    if request.param == "memory":
        yield InMemoryStore()
    elif request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'crm.db'}")
        store.create_schema()
        yield store
        store.close()
    else:
        engine = request.getfixturevalue("pg_engine")
        clean_pg(engine)
        yield SqlStore(engine)


def storable(entity) -> bool:
    """NUL characters are refused by every store (PostgreSQL cannot hold them)."""
    return "\\x00" not in repr(entity)


@pytest.mark.parametrize("class_name", sorted(REPOSITORY))
def test_round_trip(module_store, class_name):
    repo = getattr(module_store, REPOSITORY[class_name])

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(entity=ENTITY_STRATEGIES[class_name]())
    def check(entity):
        assume(storable(entity))
        try:
            assert repo.add(entity) == entity
            loaded = repo.get(entity.id)
            assert loaded == entity
            assert loaded.to_dict().keys() == entity.to_dict().keys()
            updated = repo.update(loaded)
            assert updated == attrs.evolve(entity, version=entity.version + 1)
            assert repo.get(entity.id) == updated
            assert [e.id for e in repo.query(where={"id": entity.id})] == [entity.id]
        finally:
            if repo.find(entity.id) is not None:
                repo.remove(entity.id)

    check()
