"""Schema versions and Alembic migrations, on SQLite files and PostgreSQL.

The version-1 stores are built from the DDL the release before wrote
(``tests/data/storage/schema_v1.*.sql``, captured from its
``create_schema()``), filled with records, upgraded, and checked row by row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from crmcore._time import EPOCH_UTC
from crmcore.domain import (
    Campaign,
    CampaignMember,
    EngagementEvent,
    Money,
    StageChanged,
    add_campaign_member,
)
from crmcore.errors import SchemaVersionError, ValidationError
from crmcore.storage import SCHEMA_VERSION, SqlStore
from crmcore.storage._aggregates import default_aggregates, layout
from crmcore.storage._eventcodec import encode_event
from crmcore.storage._migrate import build_version
from tests.contract._samples import at, customer, eur, moved, one_of_each, opted_out, order
from tests.contract._stores import PG_URL, pg_schema_url, skip_without_pg

DATA = Path(__file__).parents[2] / "data" / "storage"
KINDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


@pytest.fixture
def engine_of(tmp_path) -> Iterator:
    """Make empty databases: a SQLite file, or a fresh PostgreSQL schema (dropped after)."""
    made: list[tuple[sa.Engine, str | None]] = []

    def make(kind: str) -> sa.Engine:
        if kind == "sqlite":
            engine = sa.create_engine(f"sqlite:///{tmp_path / f'db{len(made)}.sqlite'}")
            made.append((engine, None))
            return engine
        skip_without_pg()
        schema = f"crmcore_mig_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        admin.dispose()
        engine = sa.create_engine(pg_schema_url(schema))
        made.append((engine, schema))
        return engine

    yield make
    for engine, schema in made:
        engine.dispose()
        if schema is not None:
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def v1_statements(dialect: str) -> list[str]:
    text = (DATA / f"schema_v1.{dialect}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]


def make_v1(engine: sa.Engine) -> None:
    """Create the schema exactly as the release before did."""
    dialect = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    with engine.begin() as conn:
        for statement in v1_statements(dialect):
            conn.exec_driver_sql(statement.rstrip(";"))


V1_AGGREGATES = {
    "customers", "accounts", "contacts", "leads", "opportunities", "activities", "tickets",
    "campaigns", "orders", "survey_responses", "loyalty_accounts",
}  # fmt: skip


def records() -> dict[str, list]:
    """Records of the aggregates version 1 had."""
    samples = {name: [entity] for name, entity in one_of_each().items() if name in V1_AGGREGATES}
    # tickets had no category before version 6
    samples["tickets"] = [
        attrs.evolve(t, category=None, sub_category=None) for t in samples["tickets"]
    ]
    samples["orders"] += [order(f"o{i}", amount=eur(i), placed_at=at(i)) for i in range(2, 40)]
    samples["customers"].append(customer(uuid.UUID(int=5), name="Grace"))
    return samples


def fill(engine: sa.Engine) -> None:
    """Write records the way the release of the database's version did.

    Every aggregate table the database has gets its records, through
    today's codecs limited to the columns that version had (the columns
    added since must hold what a migration gives old rows: checked here).
    """
    dialect = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for spec in default_aggregates():
            table = metadata.tables.get(f"crm_{spec.name}")
            if table is None:
                continue
            codec = layout(spec).codec(dialect)
            rows = []
            for entity in records().get(spec.name, []):
                row = dict(zip(codec.columns, codec.encode(entity), strict=True))
                later = {k: v for k, v in row.items() if k not in table.c}
                assert all(v in (None, [], "[]") for v in later.values()), later
                rows.append({k: v for k, v in row.items() if k in table.c})
            if rows:  # the PostgreSQL codec already yields JSON objects for JSON columns
                conn.execute(sa.insert(table), rows)


fill_v1 = fill


def add_v2_events(engine: sa.Engine, events: list) -> None:
    """Append events to a version-2 store the way its event log wrote them."""
    sqlite = engine.dialect.name == "sqlite"
    metadata = sa.MetaData()
    metadata.reflect(engine)
    t, links, head = (
        metadata.tables[n] for n in ("crm_events", "crm_event_links", "crm_event_head")
    )
    with engine.begin() as conn:
        for position, event in enumerate(events, start=1):
            r = encode_event(event)
            conn.execute(
                sa.insert(t),
                {
                    "position": position,
                    "id": r.id,
                    "type": r.type,
                    "entity_type": r.entity_type,
                    "entity_id": r.entity_id,
                    "at": r.at_us if sqlite else EPOCH_UTC + dt.timedelta(microseconds=r.at_us),
                    "at_tz": r.at_tz,
                    "actor": r.actor,
                    "payload": r.payload if sqlite else json.loads(r.payload),
                    "related_ids": r.related_text,
                },
            )
            for related in dict.fromkeys(r.related):
                conn.execute(sa.insert(links), {"entity_id": related, "position": position})
        conn.execute(sa.update(head).values(position=len(events)))


def raw_rows(engine: sa.Engine) -> dict[str, list[dict]]:
    """Every row of every crmcore table, column by column, in primary-key order."""
    inspector = sa.inspect(engine)
    out = {}
    with engine.connect() as conn:
        for table in sorted(inspector.get_table_names()):
            if not table.startswith("crm_") or table == "crm_alembic_version":
                continue
            key = inspector.get_pk_constraint(table)["constrained_columns"]
            order_by = ", ".join(f'"{c}"' for c in key) if key else "1"
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY {order_by}')
            out[table] = [dict(r._mapping) for r in result]
    return out


def project(rows: dict[str, list[dict]], like: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``rows`` limited to the tables and columns of ``like`` (what existed before)."""
    return {
        table: [{k: r[k] for k in (before[0] if before else {})} for r in rows[table]]
        for table, before in like.items()
    }


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def the_new_campaign_columns_are_empty(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT audience, variants, cost, cost_currency, goal FROM crm_campaigns"
        ).all()
    assert rows
    empty = "[]" if engine.dialect.name == "sqlite" else []  # JSON: the empty list
    assert all(tuple(r) == (None, empty, None, None, None) for r in rows)


# ---------------------------------------------------------------- opening old stores


@pytest.mark.parametrize("kind", KINDS)
def test_an_older_store_opens_and_names_the_upgrade(engine_of, kind):
    engine = engine_of(kind)
    make_v1(engine)
    store = SqlStore(engine)  # opening is fine: the store can upgrade itself
    for call in (
        store.customers.count,
        store.events.query,
        store.create_schema,
    ):
        with pytest.raises(SchemaVersionError, match=r"upgrade_schema\(\)") as info:
            call()
        assert info.value.found == 1
        assert info.value.expected == SCHEMA_VERSION == 7


@pytest.mark.parametrize("kind", KINDS)
def test_upgrade_keeps_every_row(engine_of, kind):
    engine = engine_of(kind)
    make_v1(engine)
    fill_v1(engine)
    before = raw_rows(engine)
    assert sum(map(len, before.values())) == 11 + 38 + 1 + 1  # records + schema row
    assert SqlStore(engine).upgrade_schema() == 1  # the version it found

    after = project(raw_rows(engine), before)  # row by row, column by column
    assert after == {**before, "crm_schema": [{"version": SCHEMA_VERSION}]}
    the_new_campaign_columns_are_empty(engine)
    store = SqlStore(engine)
    for name, entities in records().items():
        stored = store.repository(name)
        if name == "campaign_members":  # no such records before version 3
            assert stored.count() == 0
            continue
        for entity in entities:
            assert stored.get(entity.id) == entity
        assert stored.count() == len(entities)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM crm_schema").scalars().all() == [
            SCHEMA_VERSION
        ]
        assert conn.exec_driver_sql(
            "SELECT version_num FROM crm_alembic_version"
        ).scalars().all() == [f"v{SCHEMA_VERSION}"]
    # the new tables work, and the store takes new records
    assert store.events.append(StageChanged("p1", "prospecting", "proposal", at())) == (1,)
    store.orders.add(order("new"))
    store.journey_enrolments.add(one_of_each()["journey_enrolments"])
    assert store.upgrade_schema() == SCHEMA_VERSION  # again: nothing to do
    assert store.orders.count() == 40
    assert store.journey_enrolments.get("seminar:urn:uuid:00000000-0000-0000-0000-000000000007:1")


def a_campaign_of_version_3() -> Campaign:
    return Campaign(
        id="m2",
        name="Win-back",
        channel="email",
        start_date=at().date(),
        audience="tier == 'gold'",
        variants=("A", "B"),
        cost=Money(amount="1234.5", currency="EUR"),
        goal="reactivation",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_version_2_store_upgrades_row_by_row(engine_of, kind):
    engine = engine_of(kind)
    with engine.begin() as conn:
        build_version(conn, 2)  # the frozen revisions: the layout of the release before
    fill(engine)
    history = [moved(), opted_out(), moved("s2", days=1)]
    add_v2_events(engine, history)
    before = raw_rows(engine)
    assert set(before) == {
        *(
            f"crm_{s.name}"
            for s in default_aggregates()
            if s.name not in {"campaign_members", "journey_enrolments", "products", "order_lines"}
        ),
        "crm_schema", "crm_events", "crm_event_links", "crm_event_head", "crm_consumers",
        "crm_ledger_entries",
    }  # fmt: skip
    assert len(before["crm_campaigns"]) == 1
    assert len(before["crm_events"]) == 3
    store = SqlStore(engine)
    with pytest.raises(SchemaVersionError, match=r"version 2.*upgrade_schema\(\)"):
        store.campaigns.count()
    store.upgrade_schema()

    after = raw_rows(engine)
    assert project(after, before) == {**before, "crm_schema": [{"version": SCHEMA_VERSION}]}
    assert after["crm_campaign_members"] == []
    assert after["crm_journey_enrolments"] == []
    assert after["crm_products"] == after["crm_order_lines"] == []
    the_new_campaign_columns_are_empty(engine)
    store = SqlStore(engine)
    assert store.campaigns.get("m1") == records()["campaigns"][0]
    assert [s.event for s in store.events.query()] == history
    # what version 3 adds works: every campaign field, members, engagement events
    store.campaigns.add(a_campaign_of_version_3())
    assert store.campaigns.get("m2") == a_campaign_of_version_3()
    member = CampaignMember(campaign_id="m2", customer_id="c1", selected_at=at(), variant="A")
    _, added = add_campaign_member(member)
    opened = EngagementEvent(
        kind="open", channel="email", at=at(1), customer_id="c1", campaign_id="m2"
    )
    with store.unit_of_work() as uow:
        uow.campaign_members.add(member)
        uow.record(*added, opened)
        uow.commit()
    assert store.campaign_members.get(member.id) == member
    assert [s.position for s in store.events.query(entity="m2")] == [4, 5]


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_version_3_upgrade_changes_nothing(engine_of, kind):
    engine = engine_of(kind)
    with engine.begin() as conn:
        build_version(conn, 2)
    fill(engine)
    with engine.begin() as conn:  # something in the way of version 3, after the campaigns
        conn.exec_driver_sql("CREATE TABLE crm_campaign_members (id TEXT)")
    tables = table_names(engine)
    before = raw_rows(engine)
    with pytest.raises(sa.exc.DatabaseError):
        SqlStore(engine).upgrade_schema()
    assert table_names(engine) == tables  # the campaigns' copy rolled back with the rest
    assert raw_rows(engine) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM crm_schema").scalar() == 2
        assert conn.exec_driver_sql("SELECT version_num FROM crm_alembic_version").scalar() == "v2"


@pytest.mark.parametrize("kind", KINDS)
def test_the_version_3_revision_downgrades_to_version_2(engine_of, kind):
    from alembic.runtime.environment import EnvironmentContext

    from crmcore.storage._migrate import _script

    engine, golden = engine_of(kind), engine_of(kind)
    for e in (engine, golden):
        with e.begin() as conn:
            build_version(conn, 2)
    fill(engine)
    before = raw_rows(engine)
    SqlStore(engine).upgrade_schema()
    config, script = _script()
    with engine.begin() as conn:  # what `alembic downgrade v2` runs

        def steps(rev, _context):
            return script._downgrade_revs("v2", rev)

        with EnvironmentContext(config, script, fn=steps, destination_rev="v2") as env:
            env.configure(connection=conn, version_table="crm_alembic_version")
            with env.begin_transaction():
                env.run_migrations()
    assert raw_rows(engine) == before
    assert schema_of(engine) == schema_of(golden)


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_upgrade_changes_nothing(engine_of, kind):
    engine = engine_of(kind)
    make_v1(engine)
    fill_v1(engine)
    with engine.begin() as conn:  # something in the way of version 2
        conn.exec_driver_sql("CREATE TABLE crm_consumers (name TEXT)")
    tables = table_names(engine)
    before = raw_rows(engine)
    with pytest.raises(sa.exc.DatabaseError):
        SqlStore(engine).upgrade_schema()
    assert table_names(engine) == tables  # no half-created tables, no version table
    assert raw_rows(engine) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM crm_schema").scalar() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_newer_and_missing_schemas_are_refused(engine_of, kind):
    engine = engine_of(kind)
    with pytest.raises(SchemaVersionError, match="create_schema"):
        SqlStore(engine).upgrade_schema()
    SqlStore(engine).create_schema()
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE crm_schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match="newer") as info:
        SqlStore(engine)
    assert info.value.found == SCHEMA_VERSION + 1


# ---------------------------------------------------------------- the migrations' schemas


def schema_of(engine: sa.Engine) -> dict:
    """Tables, columns, keys and indexes as the database reports them."""
    out = {}
    inspector = sa.inspect(engine)
    for table in sorted(inspector.get_table_names()):
        if table == "crm_alembic_version":
            continue
        columns = [
            (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
        ]
        indexes = sorted(
            (
                i["name"],
                tuple(i["column_names"]),
                bool(i["unique"]),
                str(i.get("dialect_options", {}).get("postgresql_where", "")),
            )
            for i in inspector.get_indexes(table)
        )
        uniques = sorted(
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
        )
        pk = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        out[table] = (columns, pk, indexes, uniques)
    if engine.dialect.name == "sqlite":  # partial-index predicates, as written
        with engine.connect() as conn:
            # whitespace aside: ALTER TABLE ADD COLUMN writes the column without a line break
            out["sqlite_master"] = sorted(
                (kind, name, " ".join(sql.split()))
                for kind, name, sql in conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master "
                    "WHERE sql IS NOT NULL AND name NOT LIKE '%alembic%'"
                ).all()
            )
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_the_frozen_first_revision_builds_the_release_before(engine_of, kind):
    golden, migrated = engine_of(kind), engine_of(kind)
    make_v1(golden)
    with migrated.begin() as conn:
        build_version(conn, 1)
    assert schema_of(migrated) == schema_of(golden)


@pytest.mark.parametrize("kind", KINDS)
def test_migrating_gives_the_schema_create_schema_builds(engine_of, kind):
    fresh, migrated = engine_of(kind), engine_of(kind)
    SqlStore(fresh).create_schema()
    make_v1(migrated)
    SqlStore(migrated).upgrade_schema()
    assert schema_of(migrated) == schema_of(fresh)
    with fresh.connect() as a, migrated.connect() as b:
        for sql in ("SELECT version FROM crm_schema", "SELECT * FROM crm_event_head"):
            assert a.exec_driver_sql(sql).all() == b.exec_driver_sql(sql).all()


@pytest.mark.parametrize("kind", KINDS)
def test_a_version_2_store_gains_the_journey_enrolments(engine_of, kind):
    fresh, migrated = engine_of(kind), engine_of(kind)
    SqlStore(fresh).create_schema()
    with migrated.begin() as conn:
        build_version(conn, 2)
    assert "crm_journey_enrolments" not in table_names(migrated)
    store = SqlStore(migrated)
    store.upgrade_schema()
    assert schema_of(migrated) == schema_of(fresh)
    enrolment = one_of_each()["journey_enrolments"]
    store.journey_enrolments.add(enrolment)
    assert store.journey_enrolments.get(enrolment.id) == enrolment
    with migrated.connect() as conn:
        assert (
            conn.exec_driver_sql("SELECT version_num FROM crm_alembic_version").scalar()
            == f"v{SCHEMA_VERSION}"
        )


@pytest.mark.parametrize("kind", KINDS)
def test_a_version_5_store_gains_the_ticket_categories_row_by_row(engine_of, kind):
    fresh, engine = engine_of(kind), engine_of(kind)
    SqlStore(fresh).create_schema()
    with engine.begin() as conn:
        build_version(conn, 5)
    assert "category" not in {c["name"] for c in sa.inspect(engine).get_columns("crm_tickets")}
    fill(engine)
    before = raw_rows(engine)
    assert len(before["crm_tickets"]) == 1
    store = SqlStore(engine)
    with pytest.raises(SchemaVersionError, match=r"version 5.*upgrade_schema\(\)"):
        store.tickets.count()
    store.upgrade_schema()

    after = raw_rows(engine)
    assert project(after, before) == {**before, "crm_schema": [{"version": SCHEMA_VERSION}]}
    assert [(r["category"], r["sub_category"]) for r in after["crm_tickets"]] == [(None, None)]
    assert schema_of(engine) == schema_of(fresh)  # same columns, order and partial index
    store = SqlStore(engine)
    old = records()["tickets"][0]
    assert store.tickets.get(old.id) == old
    categorised = attrs.evolve(one_of_each()["tickets"], version=old.version)
    stored = store.tickets.update(categorised)
    assert (stored.category, stored.sub_category) == ("product", "defect")
    assert (
        store.tickets.get(old.id) == stored == attrs.evolve(categorised, version=old.version + 1)
    )
    assert store.tickets.to_frame()[["category", "sub_category"]].values.tolist() == [
        ["product", "defect"]
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_the_version_6_revision_downgrades_to_version_5(engine_of, kind):
    from alembic.runtime.environment import EnvironmentContext

    from crmcore.storage._migrate import _script

    engine, golden = engine_of(kind), engine_of(kind)
    for e in (engine, golden):
        with e.begin() as conn:
            build_version(conn, 5)
    fill(engine)
    before = raw_rows(engine)
    SqlStore(engine).upgrade_schema()
    config, script = _script()
    with engine.begin() as conn:  # what `alembic downgrade v5` runs

        def steps(rev, _context):
            return script._downgrade_revs("v5", rev)

        with EnvironmentContext(config, script, fn=steps, destination_rev="v5") as env:
            env.configure(connection=conn, version_table="crm_alembic_version")
            with env.begin_transaction():
                env.run_migrations()
    assert raw_rows(engine) == before
    assert schema_of(engine) == schema_of(golden)


def downgrade_to(engine: sa.Engine, version: int) -> None:
    """Run what `alembic downgrade v<version>` runs, in one transaction."""
    from alembic.runtime.environment import EnvironmentContext

    from crmcore.storage._migrate import _script

    config, script = _script()
    destination = f"v{version}"
    with engine.begin() as conn:

        def steps(rev, _context):
            return script._downgrade_revs(destination, rev)

        with EnvironmentContext(config, script, fn=steps, destination_rev=destination) as env:
            env.configure(connection=conn, version_table="crm_alembic_version")
            with env.begin_transaction():
                env.run_migrations()


@pytest.mark.parametrize("kind", KINDS)
def test_a_version_6_store_gains_products_and_order_lines_row_by_row(engine_of, kind):
    fresh, engine = engine_of(kind), engine_of(kind)
    SqlStore(fresh).create_schema()
    with engine.begin() as conn:
        build_version(conn, 6)
    assert {"crm_products", "crm_order_lines"}.isdisjoint(table_names(engine))
    fill(engine)
    before = raw_rows(engine)
    assert len(before["crm_orders"]) == 39
    store = SqlStore(engine)
    with pytest.raises(SchemaVersionError, match=r"version 6.*upgrade_schema\(\)"):
        store.order_lines.count()
    assert store.upgrade_schema() == 6

    after = raw_rows(engine)
    assert project(after, before) == {**before, "crm_schema": [{"version": 7}]}  # row by row
    assert after["crm_products"] == after["crm_order_lines"] == []
    assert schema_of(engine) == schema_of(fresh)  # same columns, order and indexes
    store = SqlStore(engine)
    for old in records()["orders"]:
        assert store.orders.get(old.id) == old  # orders of before keep their amounts, no lines
    # the catalogue and lines of an old order can be written now, the product checked
    product, line = one_of_each()["products"], one_of_each()["order_lines"]
    with pytest.raises(ValidationError, match="product_id"):
        store.order_lines.add(line)
    store.products.add(product)
    store.order_lines.add(line)
    assert store.order_lines.get(line.id) == line
    assert store.order_lines.to_frame(["id", "quantity"]).values.tolist() == [["l1", 3]]


@pytest.mark.parametrize("kind", KINDS)
def test_the_version_7_revision_downgrades_to_version_6(engine_of, kind):
    engine, golden = engine_of(kind), engine_of(kind)
    for e in (engine, golden):
        with e.begin() as conn:
            build_version(conn, 6)
    fill(engine)
    before = raw_rows(engine)
    SqlStore(engine).upgrade_schema()
    store = SqlStore(engine)
    store.products.add(one_of_each()["products"])  # lost on the way down, as documented
    downgrade_to(engine, 6)
    assert raw_rows(engine) == before
    assert schema_of(engine) == schema_of(golden)


def test_build_version_refuses_a_database_with_a_schema(engine_of):
    engine = engine_of("sqlite")
    SqlStore(engine).create_schema()
    with engine.begin() as conn, pytest.raises(SchemaVersionError, match="empty"):
        build_version(conn, 1)


def test_migrations_ship_inside_the_package():
    import crmcore.storage

    root = Path(crmcore.storage.__file__).parent / "migrations"
    assert sorted(p.name for p in (root / "versions").glob("v*.py")) == [
        "v1_baseline.py",
        "v2_event_history.py",
        "v3_marketing.py",
        "v4_journeys.py",
        "v5_identity.py",
        "v6_tickets.py",
        "v7_catalogue.py",
    ]
    assert not list(root.rglob("alembic.ini"))  # users need no Alembic configuration


def test_the_in_memory_store_has_nothing_to_upgrade():
    from crmcore.storage import InMemoryStore

    assert InMemoryStore().upgrade_schema() == SCHEMA_VERSION
