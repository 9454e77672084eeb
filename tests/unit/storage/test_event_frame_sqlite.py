"""SQLite ``append_frame`` of a large load: the secondary indexes are built after it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crmcore.domain import StageChanged
from crmcore.errors import ValidationError
from crmcore.storage import SqlStore, _json, _sql_events
from tests.contract._stores import sql_statements as statements

T = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
INDEXES = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"


def frame(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(start, start + n)],
            "entity_id": [f"O{i % 7}" for i in range(start, start + n)],
            "from_stage": "new",
            "to_stage": ["won" if i % 3 else "lost" for i in range(start, start + n)],
            "at": pd.date_range(T, periods=n, freq="min"),
            "workflow": "opportunity",
        }
    )


def indexes(store: SqlStore) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(INDEXES)]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(_sql_events, "_DEFER_MIN_ROWS", 10)  # "large" for a test
    s = SqlStore(f"sqlite:///{tmp_path / 'ev.db'}")
    s.create_schema()
    yield s
    s.close()


def test_a_large_load_keeps_the_same_indexes_and_answers(store):
    before = indexes(store)
    assert {"ix_crm_events_entity", "ix_crm_events_kind"} <= {name for name, _ in before}
    assert store.events.append_frame(frame(40), type=StageChanged, batch_size=15) == 40
    assert indexes(store) == before
    assert store.events.count(entity="O3") == len([i for i in range(40) if i % 7 == 3])
    stages = store.events.stages_as_of(T + dt.timedelta(minutes=30), workflow="opportunity")
    # O6 moved at minutes 6, 13, 20, 27 (and 34, after the cut): 27 % 3 == 0, "lost"
    assert stages.loc["O6", "stage"] == "lost"
    assert stages.loc["O1", "stage"] == "won"  # minute 29


def test_a_failed_large_load_leaves_the_indexes_and_no_rows(store):
    before = indexes(store)
    bad = frame(40)
    bad.loc[39, "id"] = "e1"  # refused by the unique id index in the last batch
    with pytest.raises(ValidationError, match="e1") as err:
        store.events.append_frame(bad, type=StageChanged, batch_size=15)
    assert err.value.row == 39
    assert indexes(store) == before
    assert store.events.count() == 0


def test_only_a_load_as_large_as_the_log_rebuilds_the_indexes(store):
    seen = statements(store)
    store.events.append_frame(frame(40), type=StageChanged)
    assert sum(s.startswith("DROP INDEX") for s in seen) == 2
    assert sum(s.startswith("CREATE INDEX") for s in seen) == 2
    seen.clear()
    store.events.append_frame(frame(20, start=40), type=StageChanged)  # smaller than the log
    assert not [s for s in seen if "INDEX" in s]
    seen.clear()
    store.events.append_frame(frame(5, start=60), type=StageChanged)  # below the minimum
    assert not [s for s in seen if "INDEX" in s]
    assert store.events.count() == 65


@pytest.mark.parametrize(
    "ids",
    [("C0001", "K001"), ('x"y',), ("a\\b", "c"), ("é", "\u2028"), ("\x1f",), ("\x7f", ""), (" ",)],
)
def test_related_ids_are_the_json_encoder_text(ids):
    assert _sql_events._related_text(ids) == _json.dumps(list(ids))
