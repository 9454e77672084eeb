"""Order lines cut at ``as_of`` and integer-coded once: the input of every recommender.

A log of order lines (who bought which product when, optionally in which
order and how many) is read and checked once, cut at ``as_of`` by the one
clock (:mod:`crmcore._time`: history is ``t <= as_of``), and coded as
integers: customers in sorted id order, products in catalogue order (sorted
ids when no catalogue is given). The recommenders then work on
:mod:`scipy.sparse` matrices built from the codes:

* ``matrix("orders")``: customers × products, the number of distinct orders
  in which the customer bought the product;
* ``matrix("quantity")``: the same with summed quantities;
* ``baskets()``: orders × products, 1 where the order holds the product.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmcore._time import Cutoff, read_dates, resolve_as_of
from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, first_bad
from crmcore.errors import ValidationError

__all__ = ["Columns", "Interactions", "Lines", "interactions", "plain", "read_lines"]


def plain(value: Any) -> Any:
    """Return a NumPy scalar as the Python value it holds (for messages and error fields)."""
    return value.item() if isinstance(value, np.generic) else value


Weight = Literal["orders", "quantity", "binary"]


@attrs.frozen
class Columns:
    """The column names of an order-line log."""

    customer: str = "customer_id"
    product: str = "product_id"
    date: str = "date"
    quantity: str | None = None
    order: str | None = None


@attrs.frozen(eq=False)
class Lines:
    """A checked order-line log, not yet cut (every row, in the caller's order)."""

    customer_ids: pd.Series
    product_ids: pd.Series
    order_ids: pd.Series | None
    times: IntArray
    quantity: FloatArray
    tz: Any
    columns: Columns

    def cutoff(self, as_of: Any, *, name: str = "as_of") -> Cutoff:
        """Resolve a cut-off against these lines' dates (naive or aware as they are)."""
        return resolve_as_of(as_of, tz=self.tz, name=name)


def _catalogue_ids(products: Any, product_col: str) -> pd.Index:
    if isinstance(products, pd.DataFrame):
        if product_col in products.columns:
            ids = pd.Index(products[product_col])
        elif products.index.name == product_col:
            ids = pd.Index(products.index)
        else:
            present = ", ".join(map(str, products.columns)) or "none"
            raise ValidationError(
                f"products has no column (or index) named {product_col!r}; columns present: "
                f"{present}",
                field=product_col,
            )
    elif isinstance(products, pd.Series | pd.Index | Sequence | np.ndarray) and not isinstance(
        products, str
    ):
        ids = pd.Index(list(products) if not isinstance(products, pd.Index) else products)
    else:
        raise ValidationError(
            "products must be a DataFrame with a product column, or a sequence of product ids; "
            f"got {type(products).__name__}",
            field="products",
        )
    if ids.hasnans:
        raise ValidationError("products holds a missing product id", field=product_col)
    if not ids.is_unique:
        dup = plain(ids[ids.duplicated()][0])
        raise ValidationError(
            f"product {dup!r} appears more than once in products; give each product once",
            field=product_col,
            row=dup,
            value=dup,
        )
    if len(ids) == 0:
        raise ValidationError("products is empty: the catalogue needs a product", field="products")
    out: pd.Index = ids.rename(product_col)
    return out


def read_lines(
    lines: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    product_col: str = "product_id",
    date_col: str = "date",
    quantity_col: str | None = None,
    order_col: str | None = None,
    date_format: str | None = None,
) -> Lines:
    """Check an order-line log (every row) without cutting it.

    Raises
    ------
    ValidationError
        Missing columns, unreadable or missing dates, missing customer,
        product or order ids, and quantities that are not finite numbers
        greater than zero (negative quantities are returns).
    """
    cols = Columns(customer_col, product_col, date_col, quantity_col, order_col)
    required = [customer_col, product_col, date_col] + [
        c for c in (quantity_col, order_col) if c is not None
    ]
    check_columns(lines, required, name="lines")
    dates = read_dates(lines[date_col], name=date_col, date_format=date_format, index=lines.index)
    for col in [customer_col, product_col] + ([order_col] if order_col else []):
        values = lines[col]
        first_bad(
            values.isna().to_numpy(dtype=bool),
            name=col,
            problem="must not be missing",
            values=values.to_numpy(dtype=object),
            index=lines.index,
        )
    if quantity_col is None:
        quantity = np.ones(len(lines), dtype=np.float64)
    else:
        quantity = as_float_array(lines[quantity_col], name=quantity_col, index=lines.index)
        first_bad(
            quantity <= 0,
            name=quantity_col,
            problem=(
                "must be > 0 (a negative quantity is a return: drop returns or net them against "
                "their purchase before recommending)"
            ),
            values=quantity,
            index=lines.index,
        )
    return Lines(
        customer_ids=lines[customer_col],
        product_ids=lines[product_col],
        order_ids=lines[order_col] if order_col else None,
        times=dates.ns,
        quantity=quantity,
        tz=dates.tz,
        columns=cols,
    )


@attrs.frozen(eq=False)
class Interactions:
    """Order lines at or before ``as_of``, integer-coded, with sparse matrices on demand.

    Build one with :func:`interactions`; every recommender's ``fit`` accepts
    it (or a DataFrame, which it reads the same way).

    Attributes
    ----------
    customers : Index
        Customer ids; customer code ``c`` is ``customers[c]``.
    products : Index
        Product ids (the catalogue's order when one was given).
    customer, product, order : ndarray of int64
        Codes of each line's customer, product and order (basket).
    times : ndarray of int64
        Each line's instant, in nanoseconds on the one scale (UTC for aware
        dates, wall clock for naive ones).
    quantity : ndarray of float64
        Each line's quantity (1 when no quantity column was given).
    cutoff : Cutoff
        The resolved ``as_of``; every line has ``times <= cutoff.ns`` (given
        to the constructor as ``resolved_as_of``).
    tz : tzinfo or None
        The date column's zone.
    columns : Columns
        The column names of the log.
    """

    customers: pd.Index
    products: pd.Index
    customer: IntArray
    product: IntArray
    order: IntArray
    times: IntArray
    quantity: FloatArray
    _cutoff: Cutoff = attrs.field(alias="resolved_as_of")
    tz: Any
    columns: Columns
    _cache: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def n_customers(self) -> int:
        """Number of customers with a line at or before ``as_of``."""
        return len(self.customers)

    @property
    def n_products(self) -> int:
        """Number of products (the catalogue, or every product sold)."""
        return len(self.products)

    @property
    def n_orders(self) -> int:
        """Number of orders (baskets)."""
        return int(self.order.max()) + 1 if self.order.size else 0

    @property
    def cutoff(self) -> Cutoff:
        """The resolved ``as_of`` (every line has ``times <= cutoff.ns``)."""
        return self._cutoff

    @property
    def as_of(self) -> pd.Timestamp:
        """The cut-off as a timestamp (aware in the data's zone, or naive)."""
        return self.cutoff.timestamp

    def order_customer(self) -> IntArray:
        """Return the customer code of each order."""
        if "order_customer" not in self._cache:
            out = np.empty(self.n_orders, dtype=np.int64)
            out[self.order] = self.customer
            self._cache["order_customer"] = out
        result: IntArray = self._cache["order_customer"]
        return result

    def order_times(self) -> IntArray:
        """Instant of each order (its latest line)."""
        if "order_times" not in self._cache:
            out = np.full(self.n_orders, np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(out, self.order, self.times)
            self._cache["order_times"] = out
        result: IntArray = self._cache["order_times"]
        return result

    def baskets(self) -> sp.csr_matrix:
        """Orders × products, 1.0 (float32) where the order holds the product."""
        if "baskets" not in self._cache:
            b = sp.csr_matrix(
                (np.ones(self.order.size, dtype=np.float32), (self.order, self.product)),
                shape=(self.n_orders, self.n_products),
            )
            b.sum_duplicates()
            b.data[:] = 1.0
            self._cache["baskets"] = b
        result: sp.csr_matrix = self._cache["baskets"]
        return result

    def matrix(self, weight: Weight = "orders") -> sp.csr_matrix:
        """Return customers × products (float32, sorted indices).

        Parameters
        ----------
        weight : {"orders", "quantity", "binary"}
            ``"orders"``: the number of distinct orders holding the product;
            ``"quantity"``: summed quantities; ``"binary"``: 1 where bought.
        """
        if weight not in ("orders", "quantity", "binary"):
            raise ValidationError(
                f"weight must be 'orders', 'quantity' or 'binary'; got {weight!r}", field="weight"
            )
        if weight not in self._cache:
            if weight == "quantity":
                m = sp.csr_matrix(
                    (self.quantity.astype(np.float32), (self.customer, self.product)),
                    shape=(self.n_customers, self.n_products),
                )
                m.sum_duplicates()
            elif weight == "orders":
                owner = sp.csr_matrix(
                    (
                        np.ones(self.n_orders, dtype=np.float32),
                        (self.order_customer(), np.arange(self.n_orders)),
                    ),
                    shape=(self.n_customers, self.n_orders),
                )
                m = (owner @ self.baskets()).tocsr()
            else:
                m = self.matrix("orders").copy()
                m.data[:] = 1.0
            m.sort_indices()
            self._cache[weight] = m
        result: sp.csr_matrix = self._cache[weight]
        return result

    def customer_codes(self, ids: Any, *, name: str = "customer_ids") -> IntArray:
        """Codes of ``ids`` (-1 for customers without history at ``as_of``)."""
        idx = pd.Index(ids)
        return np.asarray(self.customers.get_indexer(idx), dtype=np.int64)


def _codes(values: pd.Series, order: pd.Index | None) -> tuple[IntArray, pd.Index]:
    if order is not None:
        return np.asarray(order.get_indexer(pd.Index(values)), dtype=np.int64), order
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # ids that do not sort together (mixed types): first appearance
        codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _basket_codes(customer: IntArray, times: IntArray) -> IntArray:
    """One basket per customer and instant (lines without an order column)."""
    order = np.lexsort((times, customer))
    c, t = customer[order], times[order]
    new = np.empty(order.size, dtype=bool)
    new[:1] = True
    new[1:] = (c[1:] != c[:-1]) | (t[1:] != t[:-1])
    codes = np.empty(order.size, dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return codes


def encode(
    lines: Lines,
    keep: BoolArray,
    cutoff: Cutoff,
    *,
    products: pd.Index | None = None,
    index: pd.Index | None = None,
) -> Interactions:
    """Code the kept lines of a checked log as :class:`Interactions`.

    Raises
    ------
    ValidationError
        No line kept, a product not in the catalogue, or an order id shared
        by two customers.
    """
    cols = lines.columns
    if not keep.any():
        raise ValidationError(
            f"no order line is dated at or before as_of={cutoff}", field=cols.date
        )
    cust_ids = lines.customer_ids[keep]
    prod_ids = lines.product_ids[keep]
    customer, customers = _codes(cust_ids, None)
    product, prods = _codes(prod_ids, products)
    if products is not None:
        bad = product < 0
        if bad.any():
            rows = (index if index is not None else lines.product_ids.index)[keep]
            first_bad(
                bad,
                name=cols.product,
                problem="is not in the products catalogue (unknown product)",
                values=prod_ids.to_numpy(dtype=object),
                index=rows,
            )
    times = lines.times[keep]
    if lines.order_ids is not None:
        order, _ = _codes(lines.order_ids[keep], None)
        owner = np.full(int(order.max()) + 1, -1, dtype=np.int64)
        owner[order] = customer
        clash = owner[order] != customer
        if clash.any():
            pos = int(np.flatnonzero(clash)[0])
            oid = plain(lines.order_ids[keep].iloc[pos])
            raise ValidationError(
                f"order {oid!r} belongs to two customers; an order id must name one basket of "
                "one customer",
                field=cols.order,
                row=oid,
                value=oid,
            )
    else:
        order = _basket_codes(customer, times)
    return Interactions(
        customers=customers.rename(cols.customer),
        products=prods.rename(cols.product),
        customer=customer,
        product=product,
        order=order,
        times=np.ascontiguousarray(times),
        quantity=lines.quantity[keep],
        resolved_as_of=cutoff,
        tz=lines.tz,
        columns=cols,
    )


def interactions(
    lines: pd.DataFrame,
    *,
    as_of: Any,
    customer_col: str = "customer_id",
    product_col: str = "product_id",
    date_col: str = "date",
    quantity_col: str | None = None,
    order_col: str | None = None,
    products: Any = None,
    date_format: str | None = None,
) -> Interactions:
    """Read an order-line log at ``as_of``: the input of every recommender.

    History is every line at or before ``as_of`` (:doc:`/time`); lines after
    it are not used. A basket is an order (``order_col``), or, without an
    order column, the lines of one customer at one instant.

    Parameters
    ----------
    lines : DataFrame
        One row per order line.
    as_of : date-like
        The cut-off (a date means the end of that day).
    customer_col, product_col, date_col : str
        Column names.
    quantity_col : str, optional
        Quantities (> 0); every line counts once when omitted.
    order_col : str, optional
        Order (basket) ids.
    products : DataFrame or sequence, optional
        The catalogue: product ids (or a frame with ``product_col``). Lines
        naming another product are refused; products never sold are kept
        (they have no history, and can be recommended only by popularity
        ties or filters).
    date_format : str, optional
        ``strptime`` format for dates stored as strings or integers.

    Returns
    -------
    Interactions

    Raises
    ------
    ValidationError
        Missing columns or values, unreadable dates, quantities that are not
        greater than zero, an unknown product, an order shared by two
        customers, or no line at or before ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "b"],
    ...         "product_id": ["tea", "milk", "tea", "cake"],
    ...         "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-05", "2024-02-01"]),
    ...     }
    ... )
    >>> x = interactions(lines, as_of="2024-01-31")
    >>> x.n_customers, x.n_products, x.n_orders
    (2, 2, 2)
    >>> x.matrix().toarray()
    array([[1., 1.],
           [0., 1.]], dtype=float32)
    """
    checked = read_lines(
        lines,
        customer_col=customer_col,
        product_col=product_col,
        date_col=date_col,
        quantity_col=quantity_col,
        order_col=order_col,
        date_format=date_format,
    )
    cutoff = checked.cutoff(as_of)
    catalogue = None if products is None else _catalogue_ids(products, product_col)
    return encode(checked, checked.times <= cutoff.ns, cutoff, products=catalogue)


def catalogue_ids(products: Any, product_col: str) -> pd.Index:
    """Product ids of a catalogue given as a frame or a sequence (checked)."""
    return _catalogue_ids(products, product_col)


def row_labels(ids: Any) -> list[Hashable]:
    """Return the ids of a customer list as a Python list (for messages)."""
    return list(pd.Index(ids))
