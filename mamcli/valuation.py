"""Account valuation (SPEC §1): rates, collateral, pools, bands and the account's totals.

This module stands below both the commands (`engine`) and the liquidation solver (`liquidation`): each rule
of valuation is written here once (a positive balance at the bid rate and a negative one at the ask rate,
margins at the ask rate in multi-asset mode and at the index price in single-asset mode, the bands) and the
others ask it.  Stdlib only; every figure exact (callers run inside ENGINE_CONTEXT).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from mamcli.model import BANDS, Asset, Portfolio, Position, Record, Rules
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
    """Single-asset pools (SPEC §1): a cross pool for every asset with a non-zero wallet or a cross position
    (an idle wallet is still that asset's pool, available to new orders in it), in the order the assets are
    listed; then one pool per isolated position, in position order."""
    return _pools(pf, sums(pf, enumerate(pf.positions)))


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


class Totals(Record):
    """One asset's figures as Binance's GET /fapi/v2/account reports them (SPEC §1, §10), in asset units."""

    margin_balance: Decimal  # cross wallet + isolated wallets + all uPnL of its positions
    maint_margin: Decimal  # of every position margined in it
    initial_margin: Decimal
    available: Decimal  # for new orders, floored at 0 (availableBalance)


class Sums(Record):
    """What valuation needs of a set of positions, per margin asset (asset units).

    The account is valued from these, so a shock can re-add only the positions it moves (stress)."""

    maint: dict[str, Decimal]  # maintenance of every position
    initial: dict[str, Decimal]  # initial margin of every position
    held: dict[str, Decimal]  # uPnL of every position plus isolated wallets: margin balance beyond the wallet
    upnl: dict[str, Decimal]  # cross positions only, from here on
    cross_maint: dict[str, Decimal]
    cross_initial: dict[str, Decimal]
    members: dict[str, list[int]]  # cross positions' indexes
    isolated: list[Pool]  # one pool per isolated position


def sums(pf: Portfolio, positions: Iterable[tuple[int, Position]], factor: Decimal | None = None) -> Sums:
    """The sums over `positions` ((index, position) pairs), their marks multiplied by `factor` if one is given."""
    out = Sums({}, {}, {}, {}, {}, {}, {}, [])
    for i, pos in positions:
        a = pos.margin_asset
        if factor is None:
            maint, initial, upnl = pos.maint_margin, pos.initial_margin, pos.unrealized_pnl
        else:
            upnl, initial, maint = pos.figures_at(pos.mark_price * factor)
        out.maint[a] = out.maint.get(a, ZERO) + maint
        out.initial[a] = out.initial.get(a, ZERO) + initial
        if pos.isolated:
            out.held[a] = out.held.get(a, ZERO) + upnl + pos.isolated_wallet
            name = f"{pos.symbol} {pos.side_name} isolated"
            out.isolated.append(_pool(pf, name, a, "isolated", pos.isolated_wallet + upnl, maint, initial, (i,)))
        else:
            out.held[a] = out.held.get(a, ZERO) + upnl
            out.upnl[a] = out.upnl.get(a, ZERO) + upnl
            out.cross_maint[a] = out.cross_maint.get(a, ZERO) + maint
            out.cross_initial[a] = out.cross_initial.get(a, ZERO) + initial
            out.members.setdefault(a, []).append(i)
    return out


def merged(x: Sums, y: Sums) -> Sums:
    """The sums over two disjoint sets of positions."""

    def add(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, Decimal]:
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, ZERO) + v
        return out

    members = {k: sorted(x.members.get(k, []) + y.members.get(k, [])) for k in {*x.members, *y.members}}
    isolated = sorted(x.isolated + y.isolated, key=lambda p: p.positions[0])
    return Sums(
        add(x.maint, y.maint),
        add(x.initial, y.initial),
        add(x.held, y.held),
        add(x.upnl, y.upnl),
        add(x.cross_maint, y.cross_maint),
        add(x.cross_initial, y.cross_initial),
        members,
        isolated,
    )


def _pools(pf: Portfolio, s: Sums) -> list[Pool]:
    out = []
    for asset, a in pf.assets.items():
        members = s.members.get(asset, [])
        if not members and a.balance == 0:
            continue
        equity = a.balance + s.upnl.get(asset, ZERO)
        maint, initial = s.cross_maint.get(asset, ZERO), s.cross_initial.get(asset, ZERO)
        out.append(_pool(pf, asset, asset, "cross", equity, maint, initial, tuple(members)))
    for pool in s.isolated:  # built before a shock may have moved its asset's price
        price = pf.assets[pool.asset].price
        out.append(pool if pool.price == price else pool._replace(price=price))
    return out


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
    totals: dict[str, Totals]


@exact
def account(pf: Portfolio) -> Account:
    """Equity, margins, ratio and band of the account (multi-asset: one pool of all collateral)."""
    return account_from(pf, sums(pf, enumerate(pf.positions)))


@exact
def account_from(pf: Portfolio, s: Sums) -> Account:
    """The account of `pf`'s assets and rules with positions summed in `s` (see `sums`)."""
    maint_usd = sum((v * margin_rate(pf, a) for a, v in s.maint.items()), ZERO)
    init_usd = sum((v * margin_rate(pf, a) for a, v in s.initial.items()), ZERO)
    upnl = {n: s.upnl.get(n, ZERO) for n in pf.assets}
    if pf.multi:
        equity_usd = sum((collateral_usd(a.balance + upnl[n], a) for n, a in pf.assets.items()), ZERO)
        ratio, band = ratio_and_band(maint_usd, equity_usd, pf.rules)
        available_usd = equity_usd - init_usd
        free = {n: max(available_usd / a.ask_rate, ZERO) for n, a in pf.assets.items()}
        totals = _totals(pf, s, free)
        return Account(equity_usd, maint_usd, init_usd, ratio, band, equity_usd - maint_usd, upnl, None, totals)
    pool_list = _pools(pf, s)
    equity_usd = sum((p.equity * p.price for p in pool_list), ZERO)
    worst = riskiest(pool_list)
    ratio, band = (ZERO, "green") if worst is None else (worst.margin_ratio, worst.band)
    # What can still be lost before a liquidation: the least buffer of a pool that carries positions (an idle
    # wallet cannot be liquidated); with no position at all, nothing is at risk and the whole equity is buffer.
    at_risk = [p.buffer * p.price for p in pool_list if p.positions]
    buffer_usd = min(at_risk) if at_risk else equity_usd
    free = {p.asset: max(p.equity - p.initial_margin, ZERO) for p in pool_list if p.margin_type == "cross"}
    totals = _totals(pf, s, free)
    return Account(equity_usd, maint_usd, init_usd, ratio, band, buffer_usd, upnl, tuple(pool_list), totals)


def _totals(pf: Portfolio, s: Sums, available: dict[str, Decimal]) -> dict[str, Totals]:
    """Per asset held or margining a position: margin balance, maintenance, initial margin, available."""
    return {
        n: Totals(a.balance + s.held.get(n, ZERO), s.maint.get(n, ZERO), s.initial.get(n, ZERO), available.get(n, ZERO))
        for n, a in pf.assets.items()
        if a.balance != 0 or n in s.maint
    }
