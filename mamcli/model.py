"""The account as data: immutable records built by portfolio.py and read by engine.py.

Nothing here parses or prints.  Derived per-position figures live here as properties because they are
definitions (SPEC §1), not policy.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from mamcli.numbers import ONE

MULTI = "multi-asset"
SINGLE = "single-asset"
MODES = (MULTI, SINGLE)
BANDS = ("green", "yellow", "red", "liquidation")


class InputError(Exception):
    """Bad input: one or more complete lines, each naming file, key and problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Record:
    """An immutable record with named fields (listed in __slots__).

    Frozen dataclasses generate code when the module is imported (~9 ms for these six classes); a cron job
    pays that every minute, so the records here are plain slotted classes instead.
    """

    __slots__ = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args, **kwargs):
        values = dict(self._defaults)
        values.update(zip(self.__slots__, args, strict=False))
        values.update(kwargs)
        if set(values) != set(self.__slots__):
            raise TypeError(
                f"{type(self).__name__}: fields {sorted(set(self.__slots__) ^ set(values))} missing or unknown"
            )
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def __eq__(self, other):
        return type(self) is type(other) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None

    def __repr__(self):
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes):
        values = {n: getattr(self, n) for n in self.__slots__}
        values.update(changes)
        return type(self)(**values)


class Rows:
    """A read-only sequence whose items are built when asked for (the per-position rows of a result).

    A 10,000-position account would otherwise hold 10,000 dicts of 18 exact figures at once; written
    one by one, each row lives only while it is being written.
    """

    __slots__ = ("_make", "_n")

    def __init__(self, make, n: int):
        self._make = make
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._make(i)

    def __iter__(self):
        return (self._make(i) for i in range(self._n))


class Asset(Record):
    __slots__ = ('name', 'balance', 'price', 'haircut', 'ask_buffer', 'ae_haircut', 'ae_ask_buffer')
    # name: str
    # balance: Decimal             # cross wallet balance, asset units, may be negative
    # price: Decimal               # USD index price
    # haircut: Decimal             # bidBuffer
    # ask_buffer: Decimal          # askBuffer
    # ae_haircut: Decimal          # autoExchangeBidBuffer
    # ae_ask_buffer: Decimal       # autoExchangeAskBuffer

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
    __slots__ = ('floor', 'cap', 'mmr', 'cum')
    # floor: Decimal
    # cap: Decimal | None          # None: unbounded
    # mmr: Decimal
    # cum: Decimal


def select_bracket(brackets: tuple[Bracket, ...], notional: Decimal) -> Bracket:
    """The bracket whose [floor, cap) holds the notional; a notional on a floor belongs to the upper one.

    Past the last cap the last bracket is extended (the loader refuses such a position as input; what-if
    prices can still carry a notional there).
    """
    chosen = brackets[0]
    for b in brackets:
        if notional >= b.floor:
            chosen = b
        else:
            break
    return chosen


class Position(Record):
    __slots__ = (
        'symbol',
        'side',
        'quantity',
        'entry_price',
        'mark_price',
        'margin_asset',
        'base_asset',
        'leverage',
        'margin_type',
        'isolated_wallet',
        'contract',
        'maint_margin_rate',
        'maint_amount',
        'brackets',
        'liquidation_fee',
    )
    _defaults: ClassVar[dict[str, Any]] = {'brackets': (), 'liquidation_fee': None}
    # symbol: str
    # side: int                    # +1 long, -1 short
    # quantity: Decimal            # > 0
    # entry_price: Decimal
    # mark_price: Decimal
    # margin_asset: str
    # base_asset: str | None       # BTC for BTCUSDT; None when the symbol does not tell
    # leverage: Decimal
    # margin_type: str             # cross | isolated
    # isolated_wallet: Decimal
    # contract: str                # perpetual | delivery
    # maint_margin_rate: Decimal | None
    # maint_amount: Decimal
    # brackets: tuple[Bracket, ...]
    # liquidation_fee: Decimal | None   # clearance fee rate (exchangeInfo liquidationFee); None: unknown

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
        rate, amount = self.maint_terms()
        return self.notional * rate - amount


class Tier(Record):
    __slots__ = ('name', 'threshold_usd', 'thresholds')
    _defaults: ClassVar[dict[str, Any]] = {'thresholds': {}}
    # name: str
    # threshold_usd: Decimal | None                                  # e.g. -10000 (USD at index)
    # thresholds: dict[str, Decimal]   # asset units, e.g. BTC -0.1

    def threshold_for(self, asset: str) -> tuple[Decimal, str] | None:
        """(threshold, unit) that applies to the asset: asset units first, else USD; None if none."""
        if asset in self.thresholds:
            return self.thresholds[asset], asset
        if self.threshold_usd is not None:
            return self.threshold_usd, "USD"
        return None


class Rules(Record):
    __slots__ = (
        'name',
        'description',
        'tiers',
        'ltv_trigger',
        'yellow',
        'red',
        'contracts',
        'assets',
        'stable',
        'stand_ins',
        'liquidation_fees',
        'default_liquidation_fee',
        'brackets',
        'brackets_as_of',
        'brackets_source',
    )
    # name: str
    # description: str
    # tiers: tuple[Tier, ...]
    # ltv_trigger: Decimal
    # yellow: Decimal              # band yellow from this ratio (inclusive)
    # red: Decimal                 # band red above this ratio (exclusive)
    # contracts: frozenset[str]
    # assets: dict[str, dict[str, Decimal]]   # asset -> {haircut, ask_buffer, autoexchange_haircut, ...}
    # stable: frozenset[str]       # USD-pegged assets (stable = true): no liquidation shock, not "non-stable"
    # stand_ins: frozenset[str]    # assets whose profile values are stand-ins (stand_in = true)
    # liquidation_fees: dict[str, Decimal]     # symbol -> clearance fee rate (exchangeInfo liquidationFee)
    # default_liquidation_fee: Decimal | None  # for symbols not listed; None: the profile has none
    # brackets: dict[str, tuple[Bracket, ...]] # shipped snapshot, used when a position has no rate/table
    # brackets_as_of: str | None   # ISO date of the snapshot
    # brackets_source: str         # where the snapshot came from

    def tier(self, name: str) -> Tier | None:
        return next((t for t in self.tiers if t.name == name), None)


class Portfolio(Record):
    __slots__ = ('source', 'mode', 'tier', 'open_orders', 'rules', 'assets', 'positions', 'assumptions', 'credits')
    _defaults: ClassVar[dict[str, Any]] = {'assumptions': (), 'credits': False}
    # source: str                  # file name as the user gave it ("<stdin>" for -)
    # mode: str
    # tier: Tier
    # open_orders: int
    # rules: Rules
    # assets: dict[str, Asset]
    # positions: tuple[Position, ...]
    # assumptions: tuple[str, ...]
    # credits: bool                # Credits mode (EEA, BNFCR): [account] credits = true or BNFCR held

    @property
    def multi(self) -> bool:
        return self.mode == MULTI
