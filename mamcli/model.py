"""The account as data: immutable records built by portfolio.py and read by engine.py.

Nothing here parses or prints.  Derived per-position figures live here as properties because they are
definitions (SPEC §1), not policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, dataclass_transform, overload

from mamcli.numbers import ONE, ZERO

MULTI = "multi-asset"
SINGLE = "single-asset"
MODES = (MULTI, SINGLE)
BANDS = ("green", "yellow", "red", "liquidation")


class InputError(Exception):
    """Bad input: one or more complete lines, each naming file, key and problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Problems:
    """The one collector of input problems (portfolio, rules, saved payloads): each is one line,
    `LABEL: KEY: what is wrong`; a whole input is read before they are raised together, so a user fixes a
    file in one pass."""

    def __init__(self, label: str = ""):
        self.label = label
        self.items: list[str] = []

    def add(self, key: str, message: str, label: str | None = None) -> None:
        where = self.label if label is None else label
        self.items.append(f"{where}: {key}: {message}" if key else f"{where}: {message}")

    def number(self, label: str, key: str, row: object, field: str, required: bool = True) -> Decimal | None:
        """`row[field]` through the number door, or None (a problem is recorded when it is required or bad)."""
        from mamcli.numbers import D, NumberError

        where = f"{key}.{field}" if key else field
        if not isinstance(row, dict) or row.get(field) in (None, ""):
            if required:
                self.add(where, "missing", label)
            return None
        try:
            return D(row[field])
        except NumberError as e:
            self.add(where, str(e), label)
            return None

    def check(self) -> None:
        if self.items:
            raise InputError(self.items)


T = TypeVar("T")


class Rows(Sequence[T]):
    """A read-only sequence whose items are built when asked for (the per-position rows of a result).

    A 10,000-position account would otherwise hold 10,000 rows of 18 exact figures at once; written
    one by one, each row lives only while it is being written.
    """

    __slots__ = ("_make", "_n")

    def __init__(self, make: Callable[[int], T], n: int):
        self._make = make
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...

    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._make(i)

    def __iter__(self) -> Iterator[T]:
        return (self._make(i) for i in range(self._n))


# ---------------------------------------------------------------------------------------------- records

R = TypeVar("R", bound="Record")


@dataclass_transform(frozen_default=True)
class _RecordType(type):
    """Makes each Record subclass a slotted class whose fields are its annotations, in order.

    mypy reads the fields (and a constructor taking them, positionally or by name) through
    `dataclass_transform`.  Nothing is generated at import: a frozen dataclass costs ~0.5 ms and a
    NamedTuple ~0.1 ms to build per class, which a cron job pays every minute; this costs a few µs.
    """

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _RecordType:
        notes = ns.get("__annotations__", {})
        fields = tuple(k for k, v in notes.items() if not str(v).startswith("ClassVar"))
        defaults = {k: ns.pop(k) for k in fields if k in ns}
        ns["__slots__"] = fields
        cls = super().__new__(mcs, name, bases, ns)
        if fields or "_fields" not in ns:
            cls._fields = fields  # type: ignore[attr-defined]
            cls._defaults = defaults  # type: ignore[attr-defined]
        return cls


class Record(metaclass=_RecordType):
    """An immutable record: fields given positionally or by name, compared by value, copied by _replace()."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict[str, Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        n = len(args)
        if n > len(fields):
            raise TypeError(f"{type(self).__name__}: {n} values for {len(fields)} fields")
        setter = object.__setattr__
        for name, value in zip(fields, args, strict=False):
            setter(self, name, value)
        if n < len(fields):
            defaults = self._defaults
            for name in fields[n:]:
                if name in kwargs:
                    setter(self, name, kwargs.pop(name))
                elif name in defaults:
                    setter(self, name, defaults[name])
                else:
                    raise TypeError(f"{type(self).__name__}: field {name!r} missing")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: fields {sorted(kwargs)} unknown or given twice")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use _replace()")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    def _replace(self: R, **changes: Any) -> R:
        values = [changes.pop(f) if f in changes else getattr(self, f) for f in self._fields]
        if changes:
            raise TypeError(f"{type(self).__name__}: fields {sorted(changes)} unknown")
        return type(self)(*values)

    def _asdict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields}


class Asset(Record):
    name: str
    balance: Decimal  # cross wallet balance, asset units, may be negative
    price: Decimal  # USD index price
    haircut: Decimal  # bidBuffer
    ask_buffer: Decimal  # askBuffer
    ae_haircut: Decimal  # autoExchangeBidBuffer
    ae_ask_buffer: Decimal  # autoExchangeAskBuffer

    @property
    def bid_rate(self) -> Decimal:
        return self.price * (ONE - self.haircut)

    @property
    def ask_rate(self) -> Decimal:
        return self.price * (ONE + self.ask_buffer)

    @property
    def ae_bid_rate(self) -> Decimal:
        return self.price * (ONE - self.ae_haircut)

    @property
    def ae_ask_rate(self) -> Decimal:
        return self.price * (ONE + self.ae_ask_buffer)


class Bracket(Record):
    floor: Decimal
    cap: Decimal | None  # None: unbounded
    mmr: Decimal
    cum: Decimal


def bracket_index(brackets: tuple[Bracket, ...], notional: Decimal) -> int:
    """The index of the bracket whose [floor, cap) holds the notional (SPEC §1).

    A notional exactly on a floor belongs to the upper bracket.  Past the last cap the last bracket is
    extended (the loader refuses such a position as input; what-if prices can still carry a notional there).
    This is the one place that chooses a bracket: positions and the liquidation solver both ask it.
    """
    chosen = 0
    for i in range(1, len(brackets)):
        if notional >= brackets[i].floor:
            chosen = i
        else:
            break
    return chosen


def select_bracket(brackets: tuple[Bracket, ...], notional: Decimal) -> Bracket:
    return brackets[bracket_index(brackets, notional)]


class Position(Record):
    symbol: str
    side: int  # +1 long, -1 short
    quantity: Decimal  # > 0
    entry_price: Decimal
    mark_price: Decimal
    margin_asset: str
    base_asset: str | None  # BTC for BTCUSDT; None when the symbol does not tell
    leverage: Decimal
    margin_type: str  # cross | isolated
    isolated_wallet: Decimal
    contract: str  # perpetual | delivery
    maint_margin_rate: Decimal | None
    maint_amount: Decimal
    brackets: tuple[Bracket, ...] = ()
    liquidation_fee: Decimal | None = None  # clearance fee rate (exchangeInfo liquidationFee); None: unknown

    @property
    def side_name(self) -> str:
        return "long" if self.side > 0 else "short"

    @property
    def isolated(self) -> bool:
        return self.margin_type == "isolated"

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.mark_price

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.side * self.quantity * (self.mark_price - self.entry_price)

    @property
    def initial_margin(self) -> Decimal:
        return self.notional / self.leverage

    def maint_terms(self, notional: Decimal | None = None) -> tuple[Decimal, Decimal]:
        """(rate, amount) for a notional (default: the current one): explicit rate first, else bracket."""
        if self.maint_margin_rate is not None:
            return self.maint_margin_rate, self.maint_amount
        b = select_bracket(self.brackets, self.notional if notional is None else notional)
        return b.mmr, b.cum

    @property
    def maint_margin(self) -> Decimal:
        """notional × rate − amount, never below 0 (a requirement; an amount above notional × rate, which the
        loader refuses, can still come of a what-if price or a live mark)."""
        rate, amount = self.maint_terms()
        return max(self.notional * rate - amount, ZERO)

    def figures_at(self, mark: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """(unrealized PnL, initial margin, maintenance margin) were the mark `mark`: what a shock re-values,
        without building a new record (stress walks a thousand steps over thousands of positions)."""
        notional = self.quantity * mark
        rate, amount = self.maint_terms(notional)
        maint = max(notional * rate - amount, ZERO)
        return self.side * self.quantity * (mark - self.entry_price), notional / self.leverage, maint


class Tier(Record):
    name: str
    threshold_usd: Decimal | None  # e.g. -10000 (USD at index)
    thresholds: dict[str, Decimal]  # asset units, e.g. BTC -0.1
    from_exchange_info: frozenset[str] = frozenset()  # assets whose threshold came from exchangeInfo

    def threshold_for(self, asset: str) -> tuple[Decimal, str] | None:
        """(threshold, unit) that applies to the asset: asset units first, else USD; None if none."""
        if asset in self.thresholds:
            return self.thresholds[asset], asset
        if self.threshold_usd is not None:
            return self.threshold_usd, "USD"
        return None


class Rules(Record):
    name: str
    description: str
    tiers: tuple[Tier, ...]
    ltv_trigger: Decimal
    yellow: Decimal  # band yellow from this ratio (inclusive)
    red: Decimal  # band red above this ratio (exclusive)
    contracts: frozenset[str]
    assets: dict[str, dict[str, Decimal]]  # asset -> {haircut, ask_buffer, autoexchange_haircut, ...}
    stable: frozenset[str]  # USD-pegged assets (stable = true): no liquidation shock, not "non-stable"
    stand_ins: frozenset[str]  # assets whose profile values are stand-ins (stand_in = true)
    liquidation_fees: dict[str, Decimal]  # symbol -> clearance fee rate (exchangeInfo liquidationFee)
    default_liquidation_fee: Decimal | None  # for symbols not listed; None: the profile has none
    brackets: Mapping[str, tuple[Bracket, ...]]  # shipped snapshot, used when a position has no rate/table
    brackets_as_of: str | None  # ISO date of the snapshot
    brackets_source: str  # where the snapshot came from

    def tier(self, name: str) -> Tier | None:
        return next((t for t in self.tiers if t.name == name), None)


class Portfolio(Record):
    source: str  # file name as the user gave it ("<stdin>" for -)
    mode: str
    tier: Tier
    open_orders: int
    rules: Rules
    assets: dict[str, Asset]
    positions: tuple[Position, ...]
    assumptions: tuple[str, ...] = ()
    credits: bool = False  # Credits mode (EEA, BNFCR): [account] credits = true or BNFCR held

    @property
    def multi(self) -> bool:
        return self.mode == MULTI
