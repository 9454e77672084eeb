"""Audiences: who may receive a campaign, and who is held out as the control group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_columns, check_scalar, first_bad
from crmcore.domain import Campaign
from crmcore.errors import RuleSyntaxError, ValidationError
from crmcore.marketing._domain import CampaignMember
from crmcore.marketing._frame import consent_log
from crmcore.marketing._hashing import stable_salt, stable_uniform
from crmcore.marketing._windows import GroupedTimes
from crmcore.segmentation import Rule

__all__ = [
    "CONSENT_POLICY",
    "EXCLUSION_REASONS",
    "Audience",
    "audience_rule",
    "consent_at",
    "consent_state",
    "select_audience",
]

CONSENT_POLICY: Mapping[str, str] = {
    "email": (
        "explicit opt-in required (ePrivacy Directive art. 13(1), GDPR art. 7): no "
        "record means no consent; a 'soft opt-in' of existing customers is not "
        "inferred -- record it as a Consent if you rely on it"
    ),
    "sms": "as e-mail: SMS is electronic mail under the ePrivacy rules",
    "push": (
        "the app's notification permission is the opt-in: record it as "
        "Consent(channel='push'); no record means no permission"
    ),
}
"""What consent each sending channel needs; "unknown" never receives on any of them."""

EXCLUSION_REASONS: tuple[str, ...] = ("not_in_segment", "opted_out", "no_consent", "no_address")
"""Why a candidate was left out, in the order the checks run (each counted once)."""

GRANTED, WITHDRAWN, UNKNOWN = 1, 0, -1


@attrs.frozen(kw_only=True)
class Audience:
    """The result of :func:`select_audience`.

    Attributes
    ----------
    members : DataFrame
        One row per selected customer: ``customer_col``, ``campaign_id``,
        ``variant`` (``None`` for the control group), ``control`` (bool),
        ``selected_at`` (the resolved ``as_of``).
    excluded : Series of int
        Candidates left out, by reason (:data:`EXCLUSION_REASONS`, zeros
        included): ``not_in_segment`` (the rule is false), ``opted_out``
        (the consent in force is a withdrawal), ``no_consent`` (no consent
        recorded for the channel at ``as_of``), ``no_address`` (``address_col``
        is empty).
    candidates : int
        Rows of the customer frame.
    channel : str
        The sending channel.
    as_of : pandas.Timestamp
        The moment consent was checked.
    control_fraction : float
        Expected share of the eligible customers held out.
    """

    members: pd.DataFrame
    excluded: pd.Series
    candidates: int
    channel: str
    as_of: pd.Timestamp
    control_fraction: float

    @property
    def n_treatment(self) -> int:
        """Members who will be sent the campaign."""
        return int((~self.members["control"]).sum())

    @property
    def n_control(self) -> int:
        """Members held out."""
        return int(self.members["control"].sum())

    def summary(self) -> pd.Series:
        """Count candidates, each exclusion reason, eligible, treatment and control.

        Returns
        -------
        Series of int
        """
        counts = {
            "candidates": self.candidates,
            **{k: int(v) for k, v in self.excluded.items()},
            "eligible": len(self.members),
            "treatment": self.n_treatment,
            "control": self.n_control,
        }
        return pd.Series(counts, dtype=np.int64, name="customers")

    def to_members(self) -> tuple[CampaignMember, ...]:
        """Return the members as :class:`CampaignMember` values (needs a campaign id).

        Returns
        -------
        tuple of CampaignMember

        Raises
        ------
        ValidationError
            The audience was selected without ``campaign_id``.
        """
        frame = self.members
        if frame.empty:
            return ()
        campaign = frame["campaign_id"].iloc[0]
        if campaign is None or (isinstance(campaign, float) and np.isnan(campaign)):
            raise ValidationError(
                "this audience has no campaign id: pass campaign_id= to select_audience",
                field="campaign_id",
            )
        at = self.as_of.to_pydatetime()
        customer_col = frame.columns[0]
        return tuple(
            CampaignMember(
                campaign_id=campaign,
                customer_id=cid,
                selected_at=at,
                variant=variant,
                control=bool(control),
            )
            for cid, variant, control in zip(
                frame[customer_col].tolist(),
                frame["variant"].tolist(),
                frame["control"].tolist(),
                strict=True,
            )
        )


def _customer_ids(customers: pd.DataFrame, customer_col: str) -> pd.Index:
    if customer_col in customers.columns:
        ids = pd.Index(customers[customer_col])
    elif customers.index.name == customer_col:
        ids = customers.index
    else:
        present = ", ".join(map(str, customers.columns)) or "none"
        raise ValidationError(
            f"customers has no column (or index) named {customer_col!r}; columns present: "
            f"{present}",
            field=customer_col,
        )
    missing = np.asarray(ids.isna(), dtype=bool)
    first_bad(
        missing,
        name=customer_col,
        problem="must not be missing",
        values=ids.to_numpy(dtype=object),
        row_name="customer",
    )
    if not ids.is_unique:
        dup = ids[ids.duplicated()][0]
        raise ValidationError(
            f"customer {dup!r} appears more than once in customers; give one row per customer",
            field=customer_col,
            row=dup,
            value=dup,
        )
    out: pd.Index = ids
    return out


def consent_state(
    consents: pd.DataFrame,
    ids: pd.Index,
    *,
    channel: str,
    at: IntArray,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> IntArray:
    """Consent in force per customer at given instants: 1 granted, 0 withdrawn, -1 unknown.

    The consent in force is the latest one for the channel at or before the
    instant; among consents at the same instant, the one recorded last (as
    :func:`crmcore.domain.current_consent`). ``at`` holds UTC nanoseconds
    (one per id); the log's dates must be aware (consents are instants).
    """
    return consent_at(
        consents,
        ids,
        np.arange(len(ids), dtype=np.int64),
        np.full(len(ids), channel, dtype=object),
        at,
        customer_col=customer_col,
        date_col=date_col,
    )


def consent_at(
    consents: pd.DataFrame,
    ids: pd.Index,
    who: IntArray,
    channels: Any,
    at: IntArray,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> IntArray:
    """Consent in force for each query (customer position in ``ids``, channel, instant)."""
    check_columns(consents, [customer_col, "channel", "granted", date_col], name="consents")
    dates = _time.read_dates(consents[date_col], name=date_col, row_name="consent")
    if dates.tz is None:
        raise ValidationError(
            f"consents[{date_col!r}] must be timezone-aware: a consent is an instant "
            "(localise it, e.g. consents['date'].dt.tz_localize('UTC'))",
            field=date_col,
        )
    granted = consents["granted"].to_numpy()
    if granted.dtype != bool:
        ok = pd.Series(granted).isin([True, False]).to_numpy(dtype=bool)
        first_bad(
            ~ok,
            name="granted",
            problem="must be True or False",
            values=np.asarray(granted, dtype=object),
            index=consents.index,
            row_name="consent",
        )
        granted = granted.astype(bool)
    log_channel = consents["channel"].astype(str).str.strip().str.lower()
    wanted = pd.Series(np.asarray(channels, dtype=object)).astype(str).str.strip().str.lower()
    names = pd.Index(pd.unique(wanted))
    log_ch = names.get_indexer(pd.Index(log_channel))
    codes = ids.get_indexer(pd.Index(consents[customer_col]))
    keep = (log_ch >= 0) & (codes >= 0)
    width = max(len(names), 1)
    log = GroupedTimes(codes[keep] * width + log_ch[keep], dates.ns[keep], len(ids) * width)
    query = np.asarray(who, dtype=np.int64) * width + names.get_indexer(pd.Index(wanted))
    last = log.last_at_or_before(query, np.asarray(at, dtype=np.int64))
    state = np.full(query.size, UNKNOWN, dtype=np.int64)
    found = last >= 0
    state[found] = np.where(granted[keep][last[found]], GRANTED, WITHDRAWN)
    return state


def _variant_weights(variants: Any) -> tuple[list[str], FloatArray]:
    if variants is None:
        return [], np.zeros(0)
    if isinstance(variants, str):
        variants = [variants]
    if isinstance(variants, Mapping):
        names = [str(k) for k in variants]
        weights = np.array(
            [check_scalar(v, name=f"variants[{k!r}]", low=0) for k, v in variants.items()]
        )
    elif isinstance(variants, Sequence):
        names = [str(v) for v in variants]
        weights = np.ones(len(names))
    else:
        raise ValidationError(
            f"variants must be a list of names or a mapping name -> weight; got {variants!r}",
            field="variants",
        )
    if not names or len(set(names)) != len(names) or not weights.sum() > 0:
        raise ValidationError(
            f"variants must name at least one variant, each once, with a positive total "
            f"weight; got {variants!r}",
            field="variants",
        )
    return names, np.cumsum(weights) / weights.sum()


def audience_rule(campaign: Campaign) -> Rule | None:
    """Return the segment rule of a campaign's ``audience`` (``None``: every customer).

    Parameters
    ----------
    campaign : Campaign
        A campaign whose ``audience`` is the text of a segment rule, or ``None``.

    Returns
    -------
    Rule or None

    Raises
    ------
    RuleSyntaxError
        The audience text does not parse; the message names the campaign.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Campaign
    >>> c = Campaign(
    ...     id="K-1",
    ...     name="Gold",
    ...     channel="email",
    ...     start_date=dt.date(2024, 3, 1),
    ...     audience="tier == 'gold'",
    ... )
    >>> audience_rule(c).text
    "tier == 'gold'"
    """
    if not isinstance(campaign, Campaign):
        raise ValidationError(
            f"campaign must be a Campaign; got {type(campaign).__name__}", field="campaign"
        )
    if campaign.audience is None:
        return None
    try:
        return Rule.parse(campaign.audience)
    except RuleSyntaxError as exc:
        raise RuleSyntaxError(
            f"campaign {campaign.id!r}: its audience is not a valid segment rule: {exc}",
            text=exc.text,
            position=exc.position,
            expected=exc.expected,
        ) from exc


def select_audience(
    customers: pd.DataFrame,
    rule: Rule | str | Campaign | None = None,
    *,
    channel: str,
    as_of: Any,
    control_fraction: float = 0.1,
    random_state: int | str,
    campaign_id: Any = None,
    variants: Sequence[str] | Mapping[str, float] | None = None,
    consents: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    consent_col: str = "consents",
    address_col: str | None = None,
    tz: Any = "UTC",
) -> Audience:
    """Choose a campaign's audience: the segment, less those without consent, and a control group.

    Parameters
    ----------
    customers : DataFrame
        One row per customer: the id (column or index ``customer_col``), the
        profile columns the rule reads, and, unless ``consents`` is given, a
        ``consent_col`` column holding each customer's consent history (a
        sequence of :class:`~crmcore.domain.Consent`, as on
        :class:`~crmcore.domain.Customer`).
    rule : Rule or str or Campaign, optional
        The segment (:class:`crmcore.segmentation.Rule` or its text); ``None``
        takes every row.  A :class:`~crmcore.domain.Campaign` gives its
        ``audience`` (:func:`audience_rule`) and, unless given, its id as
        ``campaign_id`` and its ``variants``; ``channel`` must be the
        campaign's.
    channel : {"email", "sms", "push"}
        The sending channel.
    as_of : date-like
        When consent is checked (a date means the end of that day in ``tz``).
    control_fraction : float, default 0.1
        Expected share of eligible customers held out, in ``[0, 1)``.
    random_state : int or str
        Seed of the control-group hash (e.g. the campaign id). Required, and
        never a Generator: the same seed puts each customer in the same group
        on every rerun, whatever the other customers or their order.
    campaign_id : optional
        Written to the members and mixed into the hash.
    variants : sequence of str or mapping of str to float, optional
        A/B arms for the treated members, with weights (equal by default),
        assigned by a second, independent hash.
    consents : DataFrame, optional
        A consent log instead of ``consent_col``: ``customer_col``,
        ``channel``, ``granted``, ``date`` (aware), as
        :func:`consent_log` builds it.
    customer_col, consent_col : str
        Column names.
    address_col : str, optional
        A column that must be non-empty to send (the e-mail address, the
        phone number, the push token).
    tz : str or tzinfo, default "UTC"
        Zone in which a date-only ``as_of`` ends.

    Returns
    -------
    Audience
        Members (treatment and control) and the excluded counts by reason.

    Notes
    -----
    **Consent.** A customer receives only if the consent in force for the
    channel at ``as_of`` is an opt-in (:func:`crmcore.domain.current_consent`:
    the latest one at or before ``as_of``). *Unknown* (no record for the
    channel by then) never receives, on every channel
    (:data:`CONSENT_POLICY`); a withdrawal counts as ``opted_out``.

    **Control group.** A customer is held out when
    ``u < control_fraction``, ``u`` in [0, 1) being a keyed hash of the
    seed, the campaign id and the customer id (``crmcore.marketing``'s
    hashing module states the exact hash). The held-out share is
    ``control_fraction`` in expectation, not exactly; in exchange a rerun,
    a reordered frame or new customers never move anybody between groups.

    Raises
    ------
    ValidationError
        An unknown channel, a missing or repeated customer id, a missing
        column, a ``control_fraction`` outside [0, 1), a ``random_state``
        that is not an int or a str, or bad consent data.

    Examples
    --------
    >>> import datetime as dt
    >>> import pandas as pd
    >>> from crmcore.domain import Consent
    >>> t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> yes = (Consent(channel="email", granted=True, at=t),)
    >>> no = (Consent(channel="email", granted=False, at=t),)
    >>> customers = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "c", "d"],
    ...         "spend": [120.0, 80.0, 300.0, 500.0],
    ...         "consents": [yes, yes, no, ()],
    ...     }
    ... )
    >>> audience = select_audience(
    ...     customers,
    ...     "spend >= 100",
    ...     channel="email",
    ...     as_of="2024-05-01",
    ...     control_fraction=0.0,
    ...     random_state=7,
    ... )
    >>> audience.members["customer_id"].tolist()
    ['a']
    >>> audience.excluded.to_dict()
    {'not_in_segment': 1, 'opted_out': 1, 'no_consent': 1, 'no_address': 0}
    """
    if not isinstance(customers, pd.DataFrame):
        raise ValidationError(
            f"customers must be a pandas DataFrame; got {type(customers).__name__}",
            field="customers",
        )
    given: Any = channel
    wanted = given.strip().lower() if isinstance(given, str) else given
    if wanted not in CONSENT_POLICY:
        raise ValidationError(
            f"channel must be one of {', '.join(map(repr, CONSENT_POLICY))} (the channels "
            f"that send messages); got {channel!r}",
            field="channel",
            value=channel,
        )
    if isinstance(rule, Campaign):
        campaign = rule
        if campaign.channel != wanted:
            raise ValidationError(
                f"campaign {campaign.id!r} sends on channel {campaign.channel!r}; got "
                f"channel={channel!r} (pass the campaign's channel)",
                field="channel",
                value=channel,
            )
        campaign_id = campaign.id if campaign_id is None else campaign_id
        variants = (campaign.variants or None) if variants is None else variants
        rule = audience_rule(campaign)
    fraction = check_scalar(
        control_fraction, name="control_fraction", low=0, high=1, high_inclusive=False
    )
    salt = stable_salt(random_state, "" if campaign_id is None else campaign_id)
    names, cum = _variant_weights(variants)
    cutoff = _time.resolve_as_of(as_of, tz=_zone(tz))
    ids = _customer_ids(customers, customer_col)
    n = len(ids)
    in_segment = np.ones(n, dtype=bool)
    if rule is not None:
        compiled = Rule.parse(rule) if isinstance(rule, str) else rule
        if not isinstance(compiled, Rule):
            raise ValidationError(
                f"rule must be a Rule or its text; got {type(rule).__name__}", field="rule"
            )
        in_segment = np.asarray(compiled.mask(customers), dtype=bool)
    if consents is None:
        check_columns(customers, [consent_col], name="customers")
        log = _log_from_column(customers[consent_col], ids, customer_col)
    else:
        log = consents
    state = consent_state(
        log,
        ids,
        channel=wanted,
        at=np.full(n, cutoff.ns, dtype=np.int64),
        customer_col=customer_col,
    )
    has_address = np.ones(n, dtype=bool)
    if address_col is not None:
        check_columns(customers, [address_col], name="customers")
        col = customers[address_col]
        has_address = col.notna().to_numpy(dtype=bool) & (
            col.astype(str).str.strip().str.len().to_numpy() > 0
        )
    reasons = np.full(n, -1, dtype=np.int64)
    checks = [~in_segment, state == WITHDRAWN, state == UNKNOWN, ~has_address]
    for code, failed in enumerate(checks):
        reasons[(reasons < 0) & failed] = code
    eligible = reasons < 0
    excluded = pd.Series(
        np.bincount(reasons[~eligible], minlength=len(EXCLUSION_REASONS)),
        index=pd.Index(EXCLUSION_REASONS, name="reason"),
        name="customers",
        dtype=np.int64,
    )
    chosen = ids[eligible]
    control = stable_uniform(chosen.to_numpy(), salt + "\x1fcontrol") < fraction
    variant = np.full(len(chosen), None, dtype=object)
    if names:
        pick = np.searchsorted(cum, stable_uniform(chosen.to_numpy(), salt + "\x1fvariant"))
        pick = np.minimum(pick, len(names) - 1)
        variant = np.asarray(names, dtype=object)[pick]
        variant[control] = None
    members = pd.DataFrame(
        {
            customer_col: chosen.to_numpy(),
            "campaign_id": pd.Series([campaign_id] * len(chosen), dtype=object),
            "variant": pd.Series(variant, dtype=object),
            "control": control,
            "selected_at": pd.DatetimeIndex([cutoff.timestamp] * len(chosen)),
        }
    )
    return Audience(
        members=members,
        excluded=excluded,
        candidates=n,
        channel=wanted,
        as_of=cutoff.timestamp,
        control_fraction=fraction,
    )


def _zone(tz: Any) -> Any:
    if tz is None:
        raise ValidationError(
            "tz must name a time zone (consents are instants); got None", field="tz"
        )
    return _time.to_zone(tz)


class _Party:
    __slots__ = ("consents", "id")

    def __init__(self, pid: Any, consents: Any) -> None:
        self.id = pid
        self.consents = consents


def _log_from_column(column: pd.Series, ids: pd.Index, customer_col: str) -> pd.DataFrame:
    """Build the consent log of a column of Consent sequences (``None`` / NaN: none)."""
    parties = []
    for pid, history in zip(ids.tolist(), column.tolist(), strict=True):
        if history is None or (isinstance(history, float) and np.isnan(history)):
            continue
        if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
            raise ValidationError(
                f"customer {pid!r}: the consent column must hold sequences of Consent; "
                f"got {type(history).__name__}",
                field="consents",
                row=pid,
            )
        parties.append(_Party(pid, history))
    return consent_log(parties, customer_col=customer_col)
