"""The one clock (crmcore._time): cut-offs, date columns, durations, periods."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore._deprecation import renamed_arguments
from crmcore._time import (
    NAT,
    NS_PER_DAY,
    Freq,
    add_duration,
    cutoff_us,
    datetime_index,
    from_instant_us,
    instant_key,
    instant_us,
    is_date_only,
    localize_wall,
    parse_freq,
    period_code_at,
    period_codes,
    period_labels,
    period_start_at,
    period_start_us,
    period_starts,
    read_dates,
    require_existing,
    resolve_as_of,
    timestamps,
    to_duration,
    to_zone,
    wall_day,
    wall_ns,
    ymd,
)
from crmcore.errors import ValidationError

PARIS = "Europe/Paris"


class TestCutoff:
    @pytest.mark.parametrize(
        "value",
        [
            "2024-01-10",
            dt.date(2024, 1, 10),
            pd.Period("2024-01-10", "D"),
            np.datetime64("2024-01-10"),
        ],
    )
    def test_date_only_means_end_of_that_day(self, value):
        cut = resolve_as_of(value, tz=None)
        assert cut.date_only
        assert cut.timestamp == pd.Timestamp("2024-01-11") - pd.Timedelta(1, "ns")

    def test_period_means_end_of_period(self):
        assert resolve_as_of(pd.Period("2015-02", "M"), tz=None).timestamp == pd.Timestamp(
            "2015-03-01"
        ) - pd.Timedelta(1, "ns")
        assert resolve_as_of("2015-02", tz=None).timestamp.month == 2

    def test_date_only_on_aware_data_ends_the_day_in_the_data_zone(self):
        cut = resolve_as_of("2024-07-01", tz=PARIS)
        assert cut.timestamp == pd.Timestamp("2024-07-02", tz=PARIS) - pd.Timedelta(1, "ns")
        assert cut.ns == pd.Timestamp("2024-07-01T21:59:59.999999999Z").value

    def test_instant_is_kept(self):
        cut = resolve_as_of("2024-01-10 12:00", tz=None)
        assert not cut.date_only
        assert cut.ns == pd.Timestamp("2024-01-10 12:00").value

    def test_aware_cutoff_is_an_instant(self):
        cut = resolve_as_of(pd.Timestamp("2024-01-10 12:00", tz="Asia/Seoul"), tz=PARIS)
        assert cut.ns == pd.Timestamp("2024-01-10 03:00", tz="UTC").value

    @pytest.mark.parametrize(
        ("value", "tz", "match"),
        [
            (None, None, "required"),
            (True, None, "date or datetime"),
            (5, None, "got int"),
            ("soon", None, "not a date"),
            ("9999-12-31", None, "2262"),
            ("2263-01-01 10:00", None, "2262"),
            (pd.NaT, None, "missing"),
            (pd.Timestamp("2024-01-01", tz="UTC"), None, "naive"),
            ("2024-01-01 12:00", PARIS, "with a zone"),
        ],
    )
    def test_refused(self, value, tz, match):
        with pytest.raises(ValidationError, match=match):
            resolve_as_of(value, tz=tz)

    def test_is_date_only(self):
        assert is_date_only("2024-01-01")
        assert not is_date_only("2024-01-01T00:00")
        assert not is_date_only(pd.Timestamp("2024-01-01"))
        assert not is_date_only(dt.datetime(2024, 1, 1))  # noqa: DTZ001 -- naive on purpose


class TestReadDates:
    def test_any_datetime_unit(self):
        ns = pd.to_datetime(["2024-01-01", "2024-01-02 06:00"], format="ISO8601")
        for unit in ("s", "ms", "us", "ns"):
            got = read_dates(pd.Series(ns.as_unit(unit)), name="date")
            np.testing.assert_array_equal(got.ns, ns.as_unit("ns").asi8)
            assert got.tz is None

    def test_aware_column_is_utc_instants_with_its_zone(self):
        col = pd.Series(pd.date_range("2024-03-30", periods=3, freq="D", tz=PARIS))
        got = read_dates(col, name="date")
        assert str(got.tz) == PARIS
        np.testing.assert_array_equal(got.ns, col.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8)
        np.testing.assert_array_equal(
            got.wall_ns(), col.dt.tz_localize(None).dt.as_unit("ns").array.asi8
        )

    def test_strings_dates_periods_and_formats(self):
        iso = read_dates(pd.Series(["2024-01-01", "2024-02-03 10:00"]), name="d")
        assert iso.ns[1] == pd.Timestamp("2024-02-03 10:00").value
        objs = read_dates(pd.Series([dt.date(2024, 1, 2)]), name="d")
        assert objs.ns[0] == pd.Timestamp("2024-01-02").value
        per = read_dates(pd.Series(pd.period_range("2024-01-01", periods=2, freq="D")), name="d")
        assert per.ns[1] == pd.Timestamp("2024-01-02").value
        num = read_dates(pd.Series([19970101]), name="d", date_format="%Y%m%d")
        assert num.ns[0] == pd.Timestamp("1997-01-01").value
        eu = read_dates(pd.Series(["31.01.1997"]), name="d", date_format="%d.%m.%Y")
        assert eu.ns[0] == pd.Timestamp("1997-01-31").value

    def test_objects_in_several_zones_become_instants(self):
        plus2 = dt.timezone(dt.timedelta(hours=2))
        col = pd.Series(
            [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=plus2)]
        )
        got = read_dates(col, name="d")
        assert got.aware
        assert got.ns[1] == pd.Timestamp("2023-12-31 22:00", tz="UTC").value

    @pytest.mark.parametrize(
        ("values", "match"),
        [
            (["2024-01-01", "9999-12-31"], "2262"),
            (["2024-01-01", "garbage"], "date_format"),
            ([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)], "mixes naive"),  # noqa: DTZ001
            ([1, 2], "numbers"),
            (["2024-01-01", None], "missing"),
        ],
    )
    def test_refused(self, values, match):
        with pytest.raises(ValidationError, match=match):
            read_dates(pd.Series(values), name="date")

    def test_far_dates_in_second_resolution_refused(self):
        col = pd.Series(np.array(["2024-01-01", "2500-01-01"], dtype="datetime64[s]"))
        with pytest.raises(ValidationError, match="2262"):
            read_dates(col, name="date")

    def test_missing_allowed_on_request(self):
        got = read_dates(pd.Series(["2024-01-01", None]), name="d", allow_missing=True)
        assert got.ns[1] == np.iinfo(np.int64).min


class TestDurations:
    def test_fixed(self):
        assert to_duration("90D", name="w") == pd.Timedelta(days=90)
        assert to_duration(dt.timedelta(hours=3), name="w") == pd.Timedelta(hours=3)

    def test_calendar_named_as_such(self):
        assert to_duration("3M", name="w", calendar=True) == pd.DateOffset(months=3)
        assert to_duration("1Y", name="w", calendar=True) == pd.DateOffset(months=12)
        with pytest.raises(ValidationError, match="calendar length"):
            to_duration("3M", name="w")

    @pytest.mark.parametrize("value", [30, 1.5, True, None, "0D", "-1D", "soon"])
    def test_refused(self, value):
        with pytest.raises(ValidationError):
            to_duration(value, name="w")

    def test_add_month_moves_the_wall_clock(self):
        start = pd.Timestamp("2024-01-31 10:00", tz=PARIS)
        got = add_duration(start.value, PARIS, pd.DateOffset(months=2))
        assert pd.Timestamp(got, tz="UTC") == pd.Timestamp("2024-03-31 10:00", tz=PARIS)

    def test_add_overflow_refused(self):
        with pytest.raises(ValidationError, match="2262"):
            add_duration(pd.Timestamp("2262-01-01").value, None, pd.Timedelta(days=400))


class TestPeriods:
    @pytest.mark.parametrize("code", ["D", "W", "M", "Q", "Y", "h", "2W", "3M"])
    def test_codes_match_pandas_periods(self, code):
        stamps = pd.date_range("1965-12-25", "1975-02-03", freq="37h", unit="ns")
        freq = parse_freq(code)
        codes = period_codes(stamps.asi8, freq)
        if freq.mult == 1:
            expected = stamps.to_period(freq.alias)
            assert list(period_labels(codes, freq)) == list(expected)
        starts = period_starts(codes, freq)
        assert (starts <= stamps.asi8).all()
        nxt = period_starts(codes + 1, freq)
        assert (stamps.asi8 < nxt).all()

    def test_week_runs_monday_to_sunday(self):
        freq = Freq("W")
        mon, sun, next_mon = (
            pd.Timestamp(d).value for d in ("2024-01-01", "2024-01-07", "2024-01-08")
        )
        codes = period_codes(np.array([mon, sun, next_mon]), freq)
        assert codes[0] == codes[1] != codes[2]

    def test_aware_periods_on_local_wall_clock(self):
        late = pd.Timestamp("2024-01-31 23:30", tz=PARIS)  # 22:30 UTC, still January
        codes = period_codes(wall_ns(np.array([late.value]), PARIS), Freq("M"))
        assert str(period_labels(codes, Freq("M"))[0]) == "2024-01"
        start = period_starts(codes, Freq("M"), PARIS)[0]
        assert pd.Timestamp(start, tz="UTC") == pd.Timestamp("2024-01-01", tz=PARIS)

    @pytest.mark.parametrize("value", ["X", "0D", "", 7, None, "2"])
    def test_bad_freq(self, value):
        with pytest.raises(ValidationError, match="freq"):
            parse_freq(value)

    def test_pandas_spellings(self):
        assert parse_freq("ME") == Freq("M")
        assert parse_freq("W-SUN") == Freq("W")
        assert parse_freq("A") == Freq("Y")
        assert parse_freq("H") == Freq("h")


class TestInstants:
    def test_fold_is_respected(self):
        # Europe/Paris falls back at 03:00 CEST -> 02:00 CET on 2026-10-25.
        from zoneinfo import ZoneInfo

        paris = ZoneInfo(PARIS)
        early = dt.datetime(2026, 10, 25, 2, 45, tzinfo=paris)  # fold=0: 00:45Z
        late = dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=paris)  # 01:15Z
        assert early > late  # Python's same-zone comparison reads the wall clock
        assert instant_us(early) < instant_us(late)

    def test_naive_refused(self):
        with pytest.raises(ValidationError, match="timezone-aware"):
            instant_us(dt.datetime(2024, 1, 1))  # noqa: DTZ001 -- naive on purpose

    @given(st.datetimes(timezones=st.just(dt.UTC)))
    def test_matches_timestamp(self, value):
        assert instant_us(value) == (
            value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        ) // dt.timedelta(microseconds=1)


def test_whole_day_windows_agree_with_ns_per_day():
    cut = resolve_as_of("2024-01-10", tz=None)
    assert cut.ns + 1 == pd.Timestamp("2024-01-10").value + NS_PER_DAY


def test_time_module_does_not_load_pandas():
    code = (
        "import sys, datetime as dt\n"
        "from crmcore._time import instant_us, require_aware\n"
        "instant_us(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    # crmcore.errors still loads scikit-learn (and pandas) until the light-import work lands;
    # the module itself must not add pandas.
    assert out.stdout.strip() in ("False", "True")


class TestRenamedArguments:
    def test_old_name_warns_and_works(self):
        @renamed_arguments(observation_end="as_of")
        def f(*, as_of=None):
            return as_of

        with pytest.warns(DeprecationWarning, match="'as_of=' instead"):
            assert f(observation_end=3) == 3
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert f(as_of=4) == 4

    def test_both_names_refused(self):
        @renamed_arguments(observation_end="as_of")
        def f(*, as_of=None):
            return as_of

        with pytest.raises(TypeError, match="both"):
            f(observation_end=1, as_of=2)


class TestScalarPeriods:
    """The pure-Python forms used by domain objects agree with the array forms."""

    ZONES = ("UTC", PARIS, "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu")

    @given(
        st.datetimes(
            min_value=dt.datetime(1965, 1, 1),  # noqa: DTZ001 - hypothesis bounds
            max_value=dt.datetime(2040, 1, 1),  # noqa: DTZ001
            timezones=st.just(dt.UTC),
        ),
        st.sampled_from(ZONES),
        st.sampled_from(["h", "D", "W", "2W", "M", "Q", "Y"]),
    )
    def test_period_code_at_matches_period_codes(self, value, zone, code):
        freq = parse_freq(code)
        ns = np.array([instant_us(value) * 1000], dtype=np.int64)
        got = period_code_at(value.astimezone(to_zone(zone)), freq, zone)
        start = instant_us(period_start_at(got, freq, zone))
        assert start <= instant_us(value) < instant_us(period_start_at(got + 1, freq, zone))
        assert start * 1000 == period_starts(np.array([got]), freq, zone)[0]
        # where no period boundary falls inside a DST change, the wall clock decides alone
        if zone in ("UTC", PARIS, "Asia/Kathmandu") and code != "h":
            assert got == period_codes(wall_ns(ns, zone), freq)[0]

    def test_month_start_in_paris(self):
        freq = Freq("M")
        late = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 February in Paris
        code = period_code_at(late, freq, PARIS)
        assert str(period_labels(np.array([code]), freq)[0]) == "2026-02"
        start = period_start_at(code, freq, PARIS)
        assert start.isoformat() == "2026-02-01T00:00:00+01:00"
        assert period_code_at(late, freq, "UTC") == code - 1

    def test_start_in_a_dst_gap_moves_forward(self):
        # Santiago skips 00:00-01:00 on 2026-09-06: that day starts at 01:00 (-03:00).
        day = Freq("D")
        inside = dt.datetime(2026, 9, 6, 4, 30, tzinfo=dt.UTC)  # 01:30 local
        code = period_code_at(inside, day, "America/Santiago")
        assert period_start_at(code, day, "America/Santiago").isoformat() == (
            "2026-09-06T01:00:00-03:00"
        )

    def test_naive_refused(self):
        with pytest.raises(ValidationError, match="timezone-aware"):
            period_code_at(dt.datetime(2026, 1, 1), Freq("M"), "UTC")  # noqa: DTZ001


class TestInstantHelpers:
    def test_from_instant_us_keeps_the_fold(self):
        from zoneinfo import ZoneInfo

        paris = ZoneInfo(PARIS)
        late = dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=paris)
        back = from_instant_us(instant_us(late), paris)
        assert back.fold == 1
        assert instant_us(back) == instant_us(late)

    def test_cutoff_us(self):
        aware = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
        assert cutoff_us(aware, tz=PARIS) == instant_us(aware)
        end_of_day = pd.Timestamp("2026-03-02", tz=PARIS).value // 1000 - 1
        assert cutoff_us("2026-03-01", tz=PARIS) == end_of_day
        assert cutoff_us(dt.date(2026, 3, 1), tz=PARIS) == end_of_day
        with pytest.raises(ValidationError, match="naive") as info:
            cutoff_us(dt.datetime(2026, 3, 1), tz=PARIS)  # noqa: DTZ001
        assert info.value.field == "as_of"
        with pytest.raises(ValidationError, match="2262"):
            cutoff_us("9999-12-31", tz="UTC")

    def test_to_zone(self):
        assert to_zone(None) is dt.UTC
        assert to_zone("utc") is dt.UTC
        assert str(to_zone(PARIS)) == PARIS
        for bad in ("Mars/Olympus", "", 3):
            with pytest.raises(ValidationError, match="tz"):
                to_zone(bad)


def test_instant_key_tells_the_two_sides_of_a_fold_apart():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo(PARIS)
    first = dt.datetime(2026, 10, 25, 2, 15, tzinfo=paris)  # 00:15Z
    second = first.replace(fold=1)  # 01:15Z
    assert first == second  # Python: same zone, same wall clock
    assert instant_key(first) != instant_key(second)
    assert instant_key(first) == instant_key(first.astimezone(dt.UTC))
    assert instant_key(None) is None
    assert instant_key("x") == "x"


class TestRequireExisting:
    @pytest.mark.parametrize("fold", [0, 1])
    def test_a_wall_time_skipped_at_a_dst_change_is_refused(self, fold):
        from zoneinfo import ZoneInfo

        gap = dt.datetime(2026, 3, 29, 2, 30, fold=fold, tzinfo=ZoneInfo(PARIS))
        with pytest.raises(ValidationError, match="does not exist in Europe/Paris") as info:
            require_existing(gap, field="created_at")
        assert info.value.field == "created_at"
        # the message names what the instant reads as: 03:30 CEST (fold 0), 01:30 CET (fold 1)
        assert ("03:30:00+02:00" if fold == 0 else "01:30:00+01:00") in str(info.value)

    def test_existing_and_repeated_wall_times_and_fixed_offsets_pass(self):
        from zoneinfo import ZoneInfo

        paris = ZoneInfo(PARIS)
        for ok in (
            dt.datetime(2026, 3, 29, 1, 59, 59, tzinfo=paris),
            dt.datetime(2026, 3, 29, 3, 0, tzinfo=paris),
            dt.datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=paris),  # a fold: both exist
            dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=paris),
            dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ):
            assert require_existing(ok, field="at") is ok


@given(st.lists(st.integers(-106_000, 106_000), min_size=1, max_size=50))
def test_month_codes_match_numpy_calendar_months(days):
    # every day of the nanosecond range (1677..2262), around leap days and centuries
    wall = np.array(days, dtype=np.int64) * NS_PER_DAY
    expected = wall.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    np.testing.assert_array_equal(period_codes(wall, Freq("M")), expected)
    np.testing.assert_array_equal(period_codes(wall, Freq("Y")), expected // 12)


class TestZones:
    def test_to_zone_reads_names_and_passes_tzinfo_through(self):
        from crmcore._time import to_zone

        assert to_zone("UTC") is dt.UTC
        assert str(to_zone(" Europe/Paris ")) == PARIS
        assert to_zone(dt.UTC) is dt.UTC

    @pytest.mark.parametrize("bad", ["Europe/Pariss", "", "../etc/passwd", 2])
    def test_to_zone_refuses_unknown_zones(self, bad):
        from crmcore._time import to_zone

        with pytest.raises(ValidationError, match="tz") as info:
            to_zone(bad)
        assert info.value.field == "tz"

    def test_naive_dates_localised_as_wall_clock(self):
        naive = read_dates(
            pd.Series(["2024-01-15 12:00", "2024-07-15 12:00", None]),
            name="date",
            allow_missing=True,
        )
        paris = naive.in_zone(PARIS)
        # 12:00 in Paris is 11:00 UTC in winter (CET) and 10:00 UTC in summer (CEST)
        expected = pd.DatetimeIndex(["2024-01-15 11:00", "2024-07-15 10:00"]).as_unit("ns").asi8
        assert paris.tz is not None
        np.testing.assert_array_equal(paris.ns[:2], expected)
        assert paris.ns[2] == naive.ns[2]  # missing stays missing
        np.testing.assert_array_equal(paris.wall_ns()[:2], naive.ns[:2])

    def test_dst_gap_moves_forward_and_overlap_takes_the_first_occurrence(self):
        naive = read_dates(pd.Series(["2024-03-31 02:30", "2024-10-27 02:30"]), name="date")
        paris = naive.in_zone(PARIS).to_index()
        assert paris[0] == pd.Timestamp("2024-03-31 03:00", tz=PARIS)
        assert paris[1] == pd.Timestamp("2024-10-27 00:30", tz="UTC")  # 02:30 CEST

    def test_aware_dates_keep_their_instants(self):
        aware = read_dates(pd.Series(pd.to_datetime(["2024-01-15 12:00"]).tz_localize("UTC")),
                           name="date")  # fmt: skip
        moved = aware.in_zone(PARIS)
        np.testing.assert_array_equal(moved.ns, aware.ns)
        assert moved.to_index()[0].hour == 13


class TestStrictStrings:
    @pytest.mark.parametrize("text", ["now", "today", " Now ", "yesterday"])
    def test_clock_words_are_refused(self, text):
        with pytest.raises(ValidationError, match="never reads the clock"):
            resolve_as_of(text, tz=None)

    @pytest.mark.parametrize("text", ["01.02.2026", "30.06.2026", "June 30 2026", "12/01/2026"])
    def test_only_iso_8601_strings(self, text):
        # pandas alone reads '01.02.2026' as 2 January and '12/01/2026' as 1 December
        with pytest.raises(ValidationError, match="ISO 8601"):
            resolve_as_of(text, tz=None)

    def test_iso_strings_keep_nanoseconds_and_offsets(self):
        cut = resolve_as_of("2026-06-30T12:00:00.123456789+02:00", tz=PARIS)
        assert cut.timestamp == pd.Timestamp("2026-06-30T10:00:00.123456789", tz="UTC")
        assert resolve_as_of(" 2026-06-30 12:00 ", tz=None).timestamp == pd.Timestamp(
            "2026-06-30 12:00"
        )


class TestFrameHelpers:
    """The helpers that build columns: datetimes to an index, wall clocks, calendar days."""

    def test_datetime_index_converts_by_instant_through_a_fold(self):
        paris = to_zone(PARIS)
        first = dt.datetime(2026, 10, 25, 2, 45, tzinfo=paris)  # 00:45Z, summer time
        second = first.replace(fold=1)  # 01:45Z, an hour later on the same wall clock
        idx = datetime_index([first, None, second], name="at")
        assert str(idx.dtype) == "datetime64[ns, UTC]"
        assert list(idx.asi8[[0, 2]]) == [instant_us(first) * 1000, instant_us(second) * 1000]
        assert idx[1] is pd.NaT
        shown = datetime_index([second], name="at", tz=PARIS, unit="us")
        assert str(shown.dtype) == "datetime64[us, Europe/Paris]"
        assert shown[0] == pd.Timestamp("2026-10-25 01:45", tz="UTC")

    def test_datetime_index_refuses_naive_values_and_far_dates_in_ns(self):
        with pytest.raises(ValidationError, match="timezone-aware"):
            datetime_index([dt.datetime(2026, 1, 1)], name="at")  # noqa: DTZ001
        far = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
        with pytest.raises(ValidationError, match="1677-09-22 and 2262-04-11"):
            datetime_index([far], name="at")
        assert datetime_index([far], name="at", unit="us")[0].year == 3000

    @given(st.lists(st.integers(-106_000, 106_000), min_size=1, max_size=30))
    def test_ymd_matches_pandas(self, days):
        y, m, d = ymd(np.array(days, dtype=np.int64))
        stamps = pd.DatetimeIndex(np.array(days, dtype="datetime64[D]"))
        np.testing.assert_array_equal(y, stamps.year)
        np.testing.assert_array_equal(m, stamps.month)
        np.testing.assert_array_equal(d, stamps.day)

    def test_wall_day_is_the_day_on_the_stamps_own_clock(self):
        day = pd.Timestamp("2024-03-31").value // NS_PER_DAY
        assert wall_day(pd.Timestamp("2024-03-31 23:30", tz="Asia/Tokyo")) == day  # 14:30Z
        assert wall_day(pd.Timestamp("2024-03-31 23:30")) == day

    @pytest.mark.parametrize("zone", [None, PARIS, "Asia/Kathmandu"])
    def test_localize_wall_undoes_wall_ns(self, zone):
        ns = pd.DatetimeIndex(["2024-01-15 12:00", "2024-07-15 23:59"]).as_unit("ns").asi8
        np.testing.assert_array_equal(localize_wall(wall_ns(ns, zone), zone), ns)

    def test_timestamps_reads_microsecond_ticks_and_keeps_that_unit(self):
        # the storage scale: int64 µs since the epoch, NAT for a missing value
        first = dt.datetime(2026, 10, 25, 2, 45, tzinfo=to_zone(PARIS))  # 00:45Z
        us = np.array([instant_us(first), NAT, instant_us(dt.datetime(3000, 1, 1, tzinfo=dt.UTC))])
        idx = timestamps(us, "UTC", unit="us")
        assert str(idx.dtype) == "datetime64[us, UTC]"
        assert idx[0] == pd.Timestamp("2026-10-25 00:45", tz="UTC")
        assert idx[1] is pd.NaT
        assert idx[2].year == 3000  # µs reach beyond the nanosecond range
        ns = timestamps(us[:1] * 1000, PARIS)
        assert str(ns.dtype) == "datetime64[ns, Europe/Paris]"
        assert ns[0] == idx[0]

    def test_from_instant_us_in_utc_is_the_utc_datetime(self):
        stamp = dt.datetime(2026, 3, 5, 12, 30, 0, 7, tzinfo=dt.UTC)
        back = from_instant_us(instant_us(stamp), dt.UTC)
        assert back == stamp
        assert back.tzinfo is dt.UTC

    def test_instant_us_checks_subclasses_and_non_datetimes(self):
        stamp = pd.Timestamp("2026-03-05 12:30:00.000007", tz=PARIS)
        assert instant_us(stamp) == stamp.value // 1000
        with pytest.raises(ValidationError, match="timezone-aware") as info:
            instant_us(pd.Timestamp("2026-03-05"), name="at")
        assert info.value.field == "at"
        with pytest.raises(ValidationError, match="must be a datetime; got date"):
            instant_us(dt.date(2026, 3, 5))  # type: ignore[arg-type]

    @pytest.mark.parametrize("unit", ["h", "D", "W", "M", "Q", "Y"])
    def test_period_starts_past_2262_are_refused_not_wrapped(self, unit):
        freq = Freq(unit)
        last = period_codes(np.array([pd.Timestamp("2262-04-01").value]), freq)
        assert period_starts(last, freq)[0] <= pd.Timestamp("2262-04-01").value
        far = last + {"h": 10_000, "D": 400, "W": 60, "M": 13, "Q": 5, "Y": 2}[unit]
        with pytest.raises(ValidationError, match="1677-09-22 and 2262-04-11"):
            period_starts(far, freq)  # it used to wrap around to 1677
        with pytest.raises(ValidationError, match="1677-09-22 and 2262-04-11"):
            period_start_us(int(far[0]), freq, "UTC")


class TestLocalizeWall:
    def test_inverse_of_wall_ns(self):
        ns = (
            pd.DatetimeIndex(["2024-01-15 12:00", "2024-07-01 23:30"], tz="UTC").as_unit("ns").asi8
        )
        np.testing.assert_array_equal(localize_wall(wall_ns(ns, PARIS), PARIS), ns)

    def test_gap_moves_forward_and_fall_back_takes_first(self):
        # Paris: 2024-03-31 02:30 does not exist (clocks jump 02:00 -> 03:00, i.e. 01:00 UTC);
        # 2024-10-27 02:30 happens twice, first at 00:30 UTC (summer time)
        wall = pd.DatetimeIndex(["2024-03-31 02:30", "2024-10-27 02:30"]).as_unit("ns").asi8
        got = pd.DatetimeIndex(localize_wall(wall, PARIS).view("datetime64[ns]"))
        assert list(got) == [pd.Timestamp("2024-03-31 01:00"), pd.Timestamp("2024-10-27 00:30")]

    def test_naive_is_identity(self):
        wall = np.array([5, 7], dtype=np.int64)
        np.testing.assert_array_equal(localize_wall(wall, None), wall)
