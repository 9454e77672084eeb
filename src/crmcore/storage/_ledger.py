"""The loyalty-ledger repository API, shared by both stores over a few primitives."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmcore.storage._eventcodec import encode_ids
from crmcore.storage._ledger_codec import LedgerRow, decode_entry, encode_entries, ledger_frame

if TYPE_CHECKING:
    from crmcore.loyalty import LedgerEntry, PointsLedger, Program

__all__ = ["LedgerBase"]


class LedgerBase:
    """Public API of ``store.loyalty_ledger`` (see :class:`~crmcore.storage.LedgerRepository`)."""

    # ------------------------------------------------------------ primitives
    def _store_new(
        self,
        rows: Sequence[LedgerRow],
        actor: str | None,
    ) -> int:
        """Atomically: re-check ``rows`` against the stored ones, insert the new, record events."""
        raise NotImplementedError

    def _rows(self, account: str | None) -> list[tuple[Any, ...]]:
        """Return stored rows (in :class:`LedgerRow` order), by account then sequence."""
        raise NotImplementedError

    def _count(self, account: str | None) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------ API
    def append(
        self, account_id: Any, entries: Iterable[LedgerEntry], *, actor: str | None = None
    ) -> int:
        """Store a ledger's entries (all or none); return how many were new.

        Parameters
        ----------
        account_id : str or uuid.UUID
            The loyalty account the ledger belongs to.
        entries : iterable of LedgerEntry
            Typically ``ledger.entries`` of a :class:`~crmcore.loyalty.PointsLedger`
            (all of them, or those after the last stored one).
        actor : str, optional
            Recorded on the :class:`~crmcore.domain.LedgerEntryPosted` events.

        Returns
        -------
        int
            Entries stored now; entries stored identically before are skipped.

        Raises
        ------
        ValidationError
            An invalid entry, or one whose ``event_id`` or ``sequence`` is
            stored already with other values (nothing is stored then).
        """
        rows = encode_entries(account_id, entries)
        if not rows:
            return 0
        return self._store_new(rows, actor)

    def entries(self, account_id: Any) -> tuple[LedgerEntry, ...]:
        """Return a ledger's entries in sequence order (empty for an unknown ledger)."""
        (account,) = encode_ids(account_id, "account_id")
        return tuple(decode_entry(r) for r in self._rows(account))

    def count(self, account_id: Any = None) -> int:
        """Return how many entries are stored (for one ledger, or in all)."""
        account = None if account_id is None else encode_ids(account_id, "account_id")[0]
        return self._count(account)

    def to_frame(self, *, account_id: Any = None) -> pd.DataFrame:
        """Export entries as :func:`crmcore.loyalty.ledger_balances` takes them.

        Columns ``account_id, sequence, event_id, kind, at, points, order_id,
        spend_minor, expires_at`` (instants as ``datetime64[us, UTC]``,
        ``NaT`` for "never expires"), ordered by account and sequence.
        """
        account = None if account_id is None else encode_ids(account_id, "account_id")[0]
        return ledger_frame(self._rows(account))

    def balances(
        self, *, as_of: Any, program: Program | None = None, account_id: Any = None
    ) -> pd.DataFrame:
        """:func:`crmcore.loyalty.ledger_balances` over the stored entries.

        Parameters
        ----------
        as_of : datetime.datetime
            Timezone-aware instant of the snapshot.
        program : Program, optional
            Needed for tiers.
        account_id : str or uuid.UUID, optional
            One ledger only.

        Returns
        -------
        DataFrame
            What ``ledger_balances`` returns, indexed by ``account_id``.
        """
        from crmcore.loyalty import ledger_balances  # noqa: PLC0415 -- loads on first use

        return ledger_balances(self.to_frame(account_id=account_id), as_of=as_of, program=program)

    def ledger(self, account_id: Any, program: Program) -> PointsLedger:
        """Rebuild one member's :class:`~crmcore.loyalty.PointsLedger` from its stored entries.

        Raises
        ------
        ValidationError
            If the stored entries do not replay (a gap in the sequence).
        """
        from crmcore.loyalty import PointsLedger  # noqa: PLC0415 -- loads on first use

        (account,) = encode_ids(account_id, "account_id")
        return PointsLedger(program, account_id=account, entries=self.entries(account_id))
