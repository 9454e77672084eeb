"""Domain events: envelope, JSON round trip, the registry, ids, consent changes."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from zoneinfo import ZoneInfo

import attrs
import pytest

from crmcore.domain import (
    EVENT_TYPES,
    Consent,
    ConsentChanged,
    Contact,
    Customer,
    DomainEvent,
    GenericEvent,
    LeadConverted,
    LedgerEntryPosted,
    StageChanged,
    change_consent,
    decode_datetime,
    new_event_id,
    register_event,
)
from crmcore.errors import ValidationError

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


def test_the_kinds_crmcore_raises_are_registered():
    assert EVENT_TYPES["pipeline.stage_changed"] is StageChanged
    assert EVENT_TYPES["pipeline.lead_converted"] is LeadConverted
    assert EVENT_TYPES["consent.changed"] is ConsentChanged
    assert EVENT_TYPES["loyalty.entry_posted"] is LedgerEntryPosted
    with pytest.raises(TypeError):
        EVENT_TYPES["x.y"] = StageChanged  # read-only


def test_pipeline_still_exports_the_moved_events():
    import crmcore.pipeline as pipeline

    assert pipeline.StageChanged is StageChanged
    assert pipeline.LeadConverted is LeadConverted


def test_envelope_of_a_stage_change():
    e = StageChanged("O-1", "proposal", "closed_lost", AT, "ann", "price", "opportunity")
    assert e.type == "pipeline.stage_changed"
    assert (e.entity_type, e.entity_id, e.related_ids) == ("opportunity", "O-1", ())
    assert e.payload == {
        "entity_id": "O-1",
        "from_stage": "proposal",
        "to_stage": "closed_lost",
        "reason": "price",
        "workflow": "opportunity",
    }
    assert e.describe() == "opportunity O-1: proposal -> closed_lost (price)"
    assert StageChanged("O-1", "a", "b", AT).entity_type == "entity"


def test_envelope_of_a_conversion_names_the_related_entities():
    e = LeadConverted("L-1", "A-1", "K-1", None, AT)
    assert (e.entity_type, e.entity_id) == ("lead", "L-1")
    assert e.related_ids == ("A-1", "K-1")
    assert e.entity_ids == ("L-1", "A-1", "K-1")


@pytest.mark.parametrize(
    "event",
    [
        StageChanged(uuid.UUID(int=3), "a", "b", AT, "ann", None, "ticket"),
        LeadConverted("L-1", "A-1", "K-1", "P-1", AT, "bo"),
        ConsentChanged("k1", "sms", True, AT, "call centre", entity_type="contact"),
        LedgerEntryPosted("m1", 3, "O-9", "earn", AT, 50, expires_at=AT + dt.timedelta(days=9)),
        GenericEvent(
            event_type="legacy.note",
            entity_type="customer",
            entity_id="c1",
            at=AT,
            payload={"n": [1, 2.5, None], "t": "x"},
            related_ids=["c2"],
        ),
    ],
)
def test_json_round_trip_keeps_kind_values_zone_and_id(event):
    text = json.dumps(event.to_dict())
    back = DomainEvent.from_dict(json.loads(text))
    assert type(back) is type(event)
    assert back == event
    assert back.id == event.id
    assert back.at.tzinfo == event.at.tzinfo
    assert type(event).from_dict(json.loads(text)) == event


def test_from_dict_of_an_unregistered_type_is_a_generic_event():
    data = StageChanged("o1", "a", "b", AT).to_dict() | {"type": "future.thing_happened"}
    back = DomainEvent.from_dict(data)
    assert isinstance(back, GenericEvent)
    assert back.type == "future.thing_happened"
    assert back.payload["to_stage"] == "b"
    with pytest.raises(ValidationError, match=r"not 'pipeline\.stage_changed'"):
        StageChanged.from_dict(data)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payload": {"entity_id": "o1", "from_stage": "a", "to_stage": "b", "x": 1}}, "x"),
        ({"payload": {"entity_id": "o1", "from_stage": "a"}}, "to_stage"),
        ({"at": "2026-03-02T09:30:00"}, "at"),
        ({"at": "yesterday"}, "at"),
    ],
)
def test_from_dict_refuses_bad_data_naming_the_field(change, field):
    data = StageChanged("o1", "a", "b", AT).to_dict() | change
    with pytest.raises(ValidationError) as info:
        DomainEvent.from_dict(data)
    assert info.value.field == field


def test_ids_are_generated_once_and_stay_out_of_equality():
    a = StageChanged("o1", "a", "b", AT)
    b = StageChanged("o1", "a", "b", AT)
    assert a == b  # what happened, not which record
    assert a.id != b.id
    assert a.id == a.id  # fixed on first access
    assert len(a.id) == 32
    assert StageChanged("o1", "a", "b", AT, id="mine").id == "mine"
    assert StageChanged("o1", "a", "b", AT, id="urn:uuid:" + "0" * 31 + "1").id == uuid.UUID(int=1)
    with pytest.raises(ValidationError, match="id"):
        StageChanged("o1", "a", "b", AT, id="")


def test_generated_ids_differ_after_fork():
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    read, write = os.pipe()
    parent_next = new_event_id()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, new_event_id().encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert status == 0
    assert child[:20] != parent_next[:20]  # the child drew its own random prefix


def test_consent_changes():
    ada = Customer(id="c1", name="Ada", created_at=AT)
    out = Consent(channel="Email", granted=False, at=AT, source="web form")
    changed, (event,) = change_consent(ada, out, actor="ada")
    assert not changed.has_consent("email")
    assert ada.consents == ()  # pure
    assert event == ConsentChanged("c1", "email", False, AT, "web form", "ada")
    assert event.consent == out
    assert event.describe() == "email consent withdrawn (web form)"
    kim = Contact(id="k1", account_id="a1", name="Kim", created_at=AT)
    assert change_consent(kim, out)[1][0].entity_type == "contact"
    with pytest.raises(ValidationError, match="Customer or a Contact"):
        change_consent("c1", out)  # type: ignore[type-var]
    with pytest.raises(ValidationError, match="channel"):
        ConsentChanged("c1", "e mail", True, AT)
    with pytest.raises(ValidationError, match="at"):
        ConsentChanged("c1", "email", True, dt.datetime(2026, 1, 1))  # noqa: DTZ001 -- naive


def test_ledger_entry_events_validate():
    with pytest.raises(ValidationError, match="kind"):
        LedgerEntryPosted("m1", 0, "O-1", "gift", AT, 10)
    with pytest.raises(ValidationError, match="points"):
        LedgerEntryPosted("m1", 0, "O-1", "earn", AT, 1.5)  # type: ignore[arg-type]
    assert LedgerEntryPosted("m1", 0, "O-1", "redeem", AT, -10).describe() == (
        "redeem -10 points (O-1)"
    )


# ---------------------------------------------------------------- registering kinds


def test_a_new_kind_registers_and_round_trips():
    @register_event("tests.parcel_shipped")
    @attrs.frozen
    class ParcelShipped(DomainEvent):
        ENTITY_TYPE = "order"
        ENTITY_FIELD = "order_id"
        RELATED_FIELDS = ("customer_id",)
        order_id: str
        customer_id: str
        at: dt.datetime  # the envelope's instant: decoded by from_dict itself
        carrier: str = "post"
        delivered: dt.datetime | None = attrs.field(
            default=None, metadata={"decode": lambda v, field: v and decode_datetime(v)}
        )
        actor: str | None = None

    shipped = ParcelShipped("o1", "c1", AT, "dhl", AT + dt.timedelta(days=2))
    assert shipped.type == "tests.parcel_shipped"
    assert shipped.entity_ids == ("o1", "c1")
    assert DomainEvent.from_dict(json.loads(json.dumps(shipped.to_dict()))) == shipped
    assert register_event("tests.parcel_shipped")(ParcelShipped) is ParcelShipped  # idempotent


@pytest.mark.parametrize("name", ["shipped", "Tests.Shipped", "tests.", "tests.a-b", "", 3])
def test_type_names_are_namespaced_lower_case(name):
    with pytest.raises(ValidationError, match="namespaced"):
        register_event(name)


def test_registration_refuses_what_does_not_fit():
    @attrs.frozen
    class NoAt(DomainEvent):
        entity_id: str
        actor: str | None = None

    with pytest.raises(ValidationError, match="'at'"):
        register_event("tests.no_at")(NoAt)

    @attrs.frozen
    class Clash(DomainEvent):
        entity_id: str
        at: dt.datetime
        payload: str = ""
        actor: str | None = None

    with pytest.raises(ValidationError, match="payload"):
        register_event("tests.clash")(Clash)
    with pytest.raises(ValidationError, match="DomainEvent"):
        register_event("tests.plain")(dict)  # type: ignore[arg-type]

    @attrs.frozen
    class Other(DomainEvent):
        entity_id: str
        at: dt.datetime
        actor: str | None = None

    with pytest.raises(ValidationError, match="registered already"):
        register_event("pipeline.stage_changed")(Other)


def test_moments_compare_as_instants_across_a_dst_fold():
    paris = ZoneInfo("Europe/Paris")
    first = dt.datetime(2026, 10, 25, 2, 15, tzinfo=paris)  # before the fall-back (UTC+2)
    second = first.replace(fold=1)  # the same wall time an hour later (UTC+1)
    assert first == second  # Python compares one zone's datetimes by wall clock
    for make in (
        lambda at: StageChanged("o1", "a", "b", at),
        lambda at: ConsentChanged("c1", "email", True, at),
        lambda at: LedgerEntryPosted("m1", 0, "O-1", "earn", at, 5, expires_at=at),
    ):
        assert make(first) != make(second)
        assert make(first) == make(first.astimezone(dt.UTC))  # same instant, other zone
