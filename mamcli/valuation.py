"""Account valuation (SPEC §1): rates, collateral, pools, bands and the account's totals.

This module stands below both the commands (`engine`) and the liquidation solver (`liquidation`): each rule
of valuation is written here once (a positive balance at the bid rate and a negative one at the ask rate,
margins at the ask rate in multi-asset mode and at the index price in single-asset mode, the bands) and the
others ask it.  Stdlib only; every figure exact (callers run inside ENGINE_CONTEXT).
"""

from __future__ import annotations

from decimal import Decimal

from mamcli.model import BANDS, Asset, Portfolio, Record, Rules
from mamcli.numbers import ONE, ZERO, exact

# ---------------------------------------------------------------------------------------------- bands


def band_of(ratio: Decimal | None, rules: Rules) -> str:
    """Seed bands: green < yellow-bound <= yellow <= red-bound < red < 1 <= liquidation."""
    if ratio is None or ratio >= ONE:
        return "liquidation"
    if ratio > rules.red:
        return "red"
    if ratio >= rules.yellow:
        return "yellow"
    return "green"


def ratio_and_band(maint: Decimal, equity: Decimal, rules: Rules) -> tuple[Decimal | None, str]:
    """Margin ratio and band.  No maintenance: ratio 0.  Maintenance against equity <= 0: None, liquidation."""
    if maint <= 0:
        return ZERO, "green"
    if equity <= 0:
        return None, "liquidation"
    ratio = maint / equity
    return ratio, band_of(ratio, rules)


def band_rank(band: str) -> int:
    return BANDS.index(band)


# ---------------------------------------------------------------------------------------------- rates


def collateral_rate(margin_balance: Decimal, asset: Asset) -> Decimal:
    """The rate that gives min(mb × bid, mb × ask): bid for a positive balance (or zero), ask for a negative one."""
    return asset.bid_rate if margin_balance >= 0 else asset.ask_rate


def collateral_usd(margin_balance: Decimal, asset: Asset) -> Decimal:
    return margin_balance * collateral_rate(margin_balance, asset)


def margin_rate(pf: Portfolio, asset_name: str) -> Decimal:
    """USD per unit of margin asset for margins: the ask rate in multi-asset mode, the index price otherwise."""
    asset = pf.assets[asset_name]
    return asset.ask_rate if pf.multi else asset.price


def cross_upnl(pf: Portfolio) -> dict[str, Decimal]:
    """Unrealized PnL of the cross positions, per margin asset (every listed asset, 0 where none)."""
    out = dict.fromkeys(pf.assets, ZERO)
    for pos in pf.positions:
        if not pos.isolated:
            out[pos.margin_asset] += pos.unrealized_pnl
    return out


# ---------------------------------------------------------------------------------------------- pools


class Pool(Record):
    """A single-asset margin pool: one per margin asset of cross positions, one per isolated position.

    Figures are in the pool's asset units; `positions` are the indexes (into `Portfolio.positions`) of the
    positions the pool carries.
    """

    name: str
    asset: str
    margin_type: str  # cross | isolated
    equity: Decimal
    maint_margin: Decimal
    initial_margin: Decimal
    positions: tuple[int, ...]
    margin_ratio: Decimal | None
    band: str
    price: Decimal

    @property
    def buffer(self) -> Decimal:
        return self.equity - self.maint_margin


def pools(pf: Portfolio, upnl: dict[str, Decimal] | None = None) -> list[Pool]:
    """Single-asset pools, cross pools first (in the order their asset first appears), then isolated ones."""
    if upnl is None:
        upnl = cross_upnl(pf)
    cross: dict[str, list[int]] = {}
    isolated: list[int] = []
    for i, pos in enumerate(pf.positions):
        if pos.isolated:
            isolated.append(i)
        else:
            cross.setdefault(pos.margin_asset, []).append(i)
    out = []
    for asset, members in cross.items():
        equity = pf.assets[asset].balance + upnl[asset]
        maint = sum((pf.positions[i].maint_margin for i in members), ZERO)
        initial = sum((pf.positions[i].initial_margin for i in members), ZERO)
        out.append(_pool(pf, asset, asset, "cross", equity, maint, initial, tuple(members)))
    for i in isolated:
        pos = pf.positions[i]
        out.append(
            _pool(
                pf,
                f"{pos.symbol} {pos.side_name} isolated",
                pos.margin_asset,
                "isolated",
                pos.isolated_wallet + pos.unrealized_pnl,
                pos.maint_margin,
                pos.initial_margin,
                (i,),
            )
        )
    return out


def _pool(
    pf: Portfolio,
    name: str,
    asset: str,
    margin_type: str,
    equity: Decimal,
    maint: Decimal,
    initial: Decimal,
    members: tuple[int, ...],
) -> Pool:
    ratio, band = ratio_and_band(maint, equity, pf.rules)
    return Pool(name, asset, margin_type, equity, maint, initial, members, ratio, band, pf.assets[asset].price)


def riskiest(pool_list: list[Pool]) -> Pool | None:
    def key(pool: Pool) -> tuple[int, bool, Decimal]:
        ratio = pool.margin_ratio
        return (band_rank(pool.band), ratio is None, ratio if ratio is not None else ZERO)

    return max(pool_list, key=key) if pool_list else None


# ---------------------------------------------------------------------------------------------- account


class Account(Record):
    """The figures every command shares, in either mode (SPEC §1)."""

    equity_usd: Decimal
    maint_margin_usd: Decimal
    initial_margin_usd: Decimal
    margin_ratio: Decimal | None
    band: str
    buffer_usd: Decimal
    upnl: dict[str, Decimal]  # cross uPnL per asset
    pools: tuple[Pool, ...] | None  # single-asset mode only


@exact
def account(pf: Portfolio) -> Account:
    """Equity, margins, ratio and band of the account (multi-asset: one pool of all collateral)."""
    rates = {name: margin_rate(pf, name) for name in pf.assets}
    maint_usd = ZERO
    init_usd = ZERO
    for pos in pf.positions:
        maint_usd += pos.maint_margin * rates[pos.margin_asset]
        init_usd += pos.initial_margin * rates[pos.margin_asset]
    upnl = cross_upnl(pf)
    if pf.multi:
        equity_usd = sum((collateral_usd(a.balance + upnl[n], a) for n, a in pf.assets.items()), ZERO)
        ratio, band = ratio_and_band(maint_usd, equity_usd, pf.rules)
        return Account(equity_usd, maint_usd, init_usd, ratio, band, equity_usd - maint_usd, upnl, None)
    pool_list = pools(pf, upnl)
    equity_usd = sum((p.equity * p.price for p in pool_list), ZERO)
    worst = riskiest(pool_list)
    if worst is None:
        ratio, band, buffer_usd = ZERO, "green", ZERO
    else:
        ratio, band = worst.margin_ratio, worst.band
        buffer_usd = min(p.buffer * p.price for p in pool_list)
    return Account(equity_usd, maint_usd, init_usd, ratio, band, buffer_usd, upnl, tuple(pool_list))
