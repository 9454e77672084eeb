"""Reading "not a duplicate" decisions (``cannot_link``): for matching, clustering, merging."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import pandas as pd

from crmcore._validation import check_columns
from crmcore.errors import ValidationError

__all__ = ["cannot_link_pairs"]


def cannot_link_pairs(cannot_link: Any) -> list[tuple[Hashable, Hashable]]:
    """Read "not a duplicate" decisions: a DataFrame (``id_l``, ``id_r``) or pairs of ids.

    Raises
    ------
    ValidationError
        Another layout, or a pair of a record with itself.
    """
    if cannot_link is None:
        return []
    if isinstance(cannot_link, pd.DataFrame):
        check_columns(cannot_link, ("id_l", "id_r"), name="cannot_link")
        pairs = list(zip(cannot_link["id_l"], cannot_link["id_r"], strict=True))
    elif isinstance(cannot_link, Iterable) and not isinstance(cannot_link, str | bytes):
        pairs = []
        for item in cannot_link:
            if isinstance(item, str | bytes) or not isinstance(item, Iterable):
                raise ValidationError(
                    f"cannot_link must hold pairs of record ids; got {item!r}",
                    field="cannot_link",
                    value=item,
                )
            pair = tuple(item)
            if len(pair) != 2:
                raise ValidationError(
                    f"cannot_link must hold pairs of record ids; got {item!r}",
                    field="cannot_link",
                    value=item,
                )
            pairs.append((pair[0], pair[1]))
    else:
        raise ValidationError(
            "cannot_link must be a DataFrame with id_l, id_r or a list of id pairs",
            field="cannot_link",
            value=cannot_link,
        )
    for a, b in pairs:
        if a == b:
            raise ValidationError(
                f"cannot_link pairs record {a!r} with itself; a record is always one customer",
                field="cannot_link",
                row=a,
            )
    return pairs
