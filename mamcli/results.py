"""What the commands return: typed records whose fields are the JSON keys of SPEC §4, in output order.

The engine builds these; render.py writes them (a record becomes a JSON object, its fields the keys).
A field whose name ends in `_` is written without it (`from_` → `from`); the fields named in
`OMITTED_WHEN_NONE` are left out of the output when they are None (a risk result has `pools` only in
single-asset mode).  Each command's result decides its own exit status (`return_code`), as black's
`Report.return_code` does: the CLI only passes the user's threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from mamcli.model import BANDS, Record
from mamcli.valuation import Totals

OMITTED_WHEN_NONE = frozenset({"symbol", "asset", "pools", "compare", "portfolio"})


def at_or_beyond(band: str, limit: str) -> bool:
    """Whether `band` is at or beyond `limit` (`never` is beyond every band)."""
    return limit in BANDS and BANDS.index(band) >= BANDS.index(limit)


# ---------------------------------------------------------------------------------------------- equity


class EquityRow(Record):
    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    price: Decimal
    rate: Decimal
    value_usd: Decimal
    collateral_usd: Decimal


class EquityResult(Record):
    command: str
    mode: str
    rules: str
    tier: str
    assets: tuple[EquityRow, ...]
    value_usd: Decimal
    equity_usd: Decimal
    initial_margin_usd: Decimal
    available_usd: Decimal
    available: dict[str, Decimal]
    totals: dict[str, Totals]
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # plausibility warnings (SPEC §12): `FILE: KEY: what looks wrong`
    portfolio: str | None = None  # the path as given, in a batch of several (SPEC §9)
    source: str = "file"  # file, live, file+live-prices
    as_of: str | None = None  # ISO-8601 UTC time of the data; None: not known

    def return_code(self, fail_on: str = "red") -> int:
        return 0


# ---------------------------------------------------------------------------------------------- risk


class PositionRow(Record):
    symbol: str
    side: str
    quantity: Decimal
    margin_asset: str
    margin_type: str
    entry_price: Decimal
    mark_price: Decimal
    notional: Decimal
    unrealized_pnl: Decimal
    leverage: Decimal
    initial_margin: Decimal
    maint_margin_rate: Decimal
    maint_amount: Decimal
    maint_margin: Decimal
    maint_margin_usd: Decimal
    liquidation_price: Decimal | None
    liquidation_distance: Decimal | None  # (liquidation price − mark) / mark, signed; None with the price
    liquidation_fee: Decimal | None  # clearance fee rate; None: not known


class PoolRow(Record):
    pool: str
    asset: str
    margin_type: str
    equity: Decimal
    maint_margin: Decimal
    margin_ratio: Decimal | None
    band: str
    buffer: Decimal


class Shocks(Record):
    down: Decimal | None
    up: Decimal | None


class LayoutPrice(Record):
    symbol: str
    side: str
    liquidation_price: Decimal | None


class Layout(Record):
    layout: str
    equity_usd: Decimal
    maint_margin_usd: Decimal
    margin_ratio: Decimal | None
    band: str
    liquidation_prices: tuple[LayoutPrice, ...]


class RiskResult(Record):
    command: str
    mode: str
    rules: str
    tier: str
    equity_usd: Decimal
    maint_margin_usd: Decimal
    margin_ratio: Decimal | None
    band: str
    buffer_usd: Decimal
    clearance_fee_usd: Decimal
    totals: dict[str, Totals]
    positions: Sequence[PositionRow]
    pools: tuple[PoolRow, ...] | None
    liquidation_shocks: dict[str, Shocks]
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # plausibility warnings (SPEC §12): `FILE: KEY: what looks wrong`
    compare: tuple[Layout, ...] | None = None
    portfolio: str | None = None  # the path as given, in a batch of several (SPEC §9)
    source: str = "file"  # file, live, file+live-prices
    as_of: str | None = None  # ISO-8601 UTC time of the data; None: not known

    def return_code(self, fail_on: str = "red") -> int:
        return 1 if at_or_beyond(self.band, fail_on) else 0


# ---------------------------------------------------------------------------------------------- stress


class StressStep(Record):
    shock: Decimal
    equity_usd: Decimal
    maint_margin_usd: Decimal
    margin_ratio: Decimal | None
    band: str
    autoexchange: bool


class StressResult(Record):
    command: str
    mode: str
    rules: str
    tier: str
    asset: str
    from_: Decimal
    to: Decimal
    steps: tuple[StressStep, ...]
    liquidation_shock: Decimal | None
    worst_band: str
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # plausibility warnings (SPEC §12): `FILE: KEY: what looks wrong`
    portfolio: str | None = None  # the path as given, in a batch of several (SPEC §9)
    source: str = "file"  # file, live, file+live-prices
    as_of: str | None = None  # ISO-8601 UTC time of the data; None: not known

    def return_code(self, fail_on: str = "red") -> int:
        return 1 if at_or_beyond(self.worst_band, fail_on) else 0


# ---------------------------------------------------------------------------------------------- ltv


class LtvResult(Record):
    command: str
    mode: str
    rules: str
    tier: str
    ltv: Decimal | None  # None: unbounded
    negative_usd: Decimal
    positive_usd: Decimal
    trigger: Decimal
    applies: bool
    triggered: bool
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # plausibility warnings (SPEC §12): `FILE: KEY: what looks wrong`
    portfolio: str | None = None  # the path as given, in a batch of several (SPEC §9)
    source: str = "file"  # file, live, file+live-prices
    as_of: str | None = None  # ISO-8601 UTC time of the data; None: not known

    def return_code(self, fail_on: str = "red") -> int:
        return 1 if self.triggered else 0


# ---------------------------------------------------------------------------------------------- auto-exchange


class ThresholdTrigger(Record):
    kind: str  # "threshold"
    asset: str
    threshold: Decimal
    unit: str  # the asset itself, or USD
    balance: Decimal


class LiquidationTrigger(Record):
    kind: str  # "liquidation"
    margin_ratio: Decimal | None


class LtvTrigger(Record):
    kind: str  # "ltv"
    ltv: Decimal | None
    trigger: Decimal


Trigger = ThresholdTrigger | LiquidationTrigger | LtvTrigger


class Sale(Record):
    asset: str
    quantity: Decimal
    value_usd: Decimal
    proceeds_usd: Decimal
    rate: Decimal


class Deficit(Record):
    asset: str
    quantity: Decimal
    value_usd: Decimal
    covered_quantity: Decimal
    rate: Decimal


class CoverPlan(Record):
    sales: tuple[Sale, ...]
    deficits: tuple[Deficit, ...]
    cost_usd: Decimal
    shortfall_usd: Decimal
    balances_after: dict[str, Decimal]


class Threshold(Record):
    """How far a wallet is from its auto-exchange threshold (SPEC §9)."""

    asset: str
    threshold: Decimal
    unit: str  # the asset itself, or USD
    balance: Decimal
    headroom: Decimal  # how much further the balance may fall before it triggers, in `unit`; <= 0: triggered
    source: str  # rules or exchangeInfo


class AutoexchangeResult(Record):
    command: str
    mode: str
    rules: str
    tier: str
    triggered: bool
    what_if: bool
    triggers: tuple[Trigger, ...]
    sales: tuple[Sale, ...]
    deficits: tuple[Deficit, ...]
    cost_usd: Decimal
    shortfall_usd: Decimal
    balances_after: dict[str, Decimal]
    thresholds: tuple[Threshold, ...]
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # plausibility warnings (SPEC §12): `FILE: KEY: what looks wrong`
    portfolio: str | None = None  # the path as given, in a batch of several (SPEC §9)
    source: str = "file"  # file, live, file+live-prices
    as_of: str | None = None  # ISO-8601 UTC time of the data; None: not known

    def return_code(self, fail_on: str = "red") -> int:
        return 1 if self.triggered else 0


# ---------------------------------------------------------------------------------------------- switching


class Blocker(Record):
    reason: str
    binance_code: int | None
    symbol: str | None
    asset: str | None
    message: str


class Summary(Record):
    mode: str
    equity_usd: Decimal
    maint_margin_usd: Decimal
    margin_ratio: Decimal | None
    band: str


class Preview(Record):
    from_: Summary
    to: Summary


class SwitchResult(Record):
    command: str
    mode: str
    rules: str
    tier: str
    from_: str
    to: str
    allowed: bool
    blockers: tuple[Blocker, ...]
    preview: Preview
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # plausibility warnings (SPEC §12): `FILE: KEY: what looks wrong`
    portfolio: str | None = None  # the path as given, in a batch of several (SPEC §9)
    source: str = "file"  # file, live, file+live-prices
    as_of: str | None = None  # ISO-8601 UTC time of the data; None: not known

    def return_code(self, fail_on: str = "red") -> int:
        return 0 if self.allowed else 1


Result = EquityResult | RiskResult | StressResult | LtvResult | AutoexchangeResult | SwitchResult
