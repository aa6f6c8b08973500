"""The commands' arithmetic: pure functions from a Portfolio to typed results (SPEC §1, §4, §6).

Stdlib only; no Click, no TOML, no output.  Every public function runs inside ENGINE_CONTEXT (60 digits,
traps on), so results do not depend on the caller's decimal context.  The account's valuation lives in
`valuation` and the liquidation solver in `liquidation`; this module composes them into the results of
`results`, which render.py writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, localcontext

from mamcli.liquidation import Solver
from mamcli.model import MULTI, SINGLE, InputError, Portfolio, Position, Rows
from mamcli.numbers import ENGINE_CONTEXT, ONE, ZERO, exact, figure, fixed, plain
from mamcli.results import (
    AutoexchangeResult,
    Blocker,
    CoverPlan,
    Deficit,
    EquityResult,
    EquityRow,
    Layout,
    LayoutPrice,
    LiquidationTrigger,
    LtvResult,
    LtvTrigger,
    PoolRow,
    PositionRow,
    Preview,
    RiskResult,
    Sale,
    Shocks,
    StressResult,
    StressStep,
    Summary,
    SwitchResult,
    Threshold,
    ThresholdTrigger,
    Trigger,
)
from mamcli.valuation import (
    Account,
    account,
    account_from,
    band_rank,
    collateral_rate,
    margin_rate,
    merged,
    pools,
    sums,
)


def _head(command: str, pf: Portfolio) -> tuple[str, str, str, str]:
    return command, pf.mode, pf.rules.name, pf.tier.name


def _notes(pf: Portfolio, *extra: str | None) -> tuple[str, ...]:
    return pf.assumptions + tuple(e for e in extra if e)


# Plausibility limits (SPEC §12): past them a figure is more likely a wrong unit than a real account.
MARK_INDEX_GAP = Decimal("0.1")  # a mark this far from its base asset's index price (× its quote's)
MMR_LIMIT = Decimal("0.5")  # an explicit maintenance rate at or above this
MAX_LEVERAGE = Decimal(125)  # Binance's highest leverage
HAIRCUT_LIMIT = Decimal("0.5")  # a haircut above this
BALANCE_LIMIT_USD = Decimal("1e9")  # a balance worth more than this at index


def plausibility(pf: Portfolio) -> tuple[str, ...]:
    """What in the account looks like a wrong unit (`FILE: KEY: what and why`): warnings, never errors."""
    out = []
    for name, a in pf.assets.items():
        key = f"{pf.source}: assets.{name}"
        worth = abs(a.balance * a.price)
        if worth > BALANCE_LIMIT_USD:
            out.append(
                f"{key}.balance: {figure(a.balance)} {name} is worth {figure(worth)} USD at index "
                f"{figure(a.price)}; is it typed in USD instead of {name}?"
            )
        if a.haircut > HAIRCUT_LIMIT:
            out.append(
                f"{key}.haircut: {plain(a.haircut)} discounts {fixed(a.haircut * 100, 2)} % of the collateral; "
                "a haircut is a fraction (5 % is 0.05)"
            )
    for i, pos in enumerate(pf.positions, 1):
        key = f"{pf.source}: positions[{i}]"
        base = pf.assets.get(pos.base_asset or "")
        quote = pf.assets.get(pos.margin_asset)
        if base is not None and quote is not None and not pf.credits:
            gap = pos.mark_price * quote.price / base.price - ONE
            if abs(gap) > MARK_INDEX_GAP:
                out.append(
                    f"{key}.mark_price: {pos.symbol} mark {figure(pos.mark_price)} is "
                    f"{fixed(abs(gap) * 100, 2)} % {'above' if gap > 0 else 'below'} the index price of "
                    f"{base.name}, {figure(base.price)}; is one of them mistyped?"
                )
        if pos.maint_margin_rate is not None and pos.maint_margin_rate >= MMR_LIMIT:
            out.append(
                f"{key}.maint_margin_rate: {plain(pos.maint_margin_rate)} is "
                f"{fixed(pos.maint_margin_rate * 100, 2)} % of the notional; a rate is a fraction (0.4 % is 0.004)"
            )
        if pos.leverage > MAX_LEVERAGE:
            out.append(f"{key}.leverage: {plain(pos.leverage)} is above Binance's highest leverage, 125")
    return tuple(out)


# ---------------------------------------------------------------------------------------------- equity


@exact
def equity(pf: Portfolio) -> EquityResult:
    acct = account(pf)
    upnl = acct.upnl
    pool_assets = {p.asset: p for p in (acct.pools or ()) if p.margin_type == "cross"}
    rows = []
    for name, a in pf.assets.items():
        mb = a.balance + upnl[name]
        if pf.multi:
            rate = collateral_rate(mb, a)
        else:
            rate = a.price if name in pool_assets else ZERO
        rows.append(EquityRow(name, a.balance, upnl[name], mb, a.price, rate, mb * a.price, mb * rate))
    note = None
    if pf.multi:
        available_usd = acct.equity_usd - acct.initial_margin_usd
        available = {name: available_usd / a.ask_rate for name, a in pf.assets.items()}
    else:
        available = {name: acct.totals[name].available for name in pool_assets}
        available_usd = sum((v * pf.assets[n].price for n, v in available.items()), ZERO)
        note = (
            "single-asset mode: each asset is its own pool at index price, no haircut; no asset covers "
            "another's losses, and isolated wallets are not available to other positions"
        )
    return EquityResult(
        *_head("equity", pf),
        assets=tuple(rows),
        value_usd=sum((r.value_usd for r in rows), ZERO),
        equity_usd=acct.equity_usd,
        initial_margin_usd=acct.initial_margin_usd,
        available_usd=available_usd,
        available=available,
        totals=acct.totals,
        assumptions=_notes(pf, note),
        warnings=plausibility(pf),
    )


# ---------------------------------------------------------------------------------------------- risk


def position_row(pf: Portfolio, pos: Position, liquidation_price: Decimal | None) -> PositionRow:
    rate, amount = pos.maint_terms()
    maint = pos.maint_margin
    return PositionRow(
        symbol=pos.symbol,
        side=pos.side_name,
        quantity=pos.quantity,
        margin_asset=pos.margin_asset,
        margin_type=pos.margin_type,
        entry_price=pos.entry_price,
        mark_price=pos.mark_price,
        notional=pos.notional,
        unrealized_pnl=pos.unrealized_pnl,
        leverage=pos.leverage,
        initial_margin=pos.initial_margin,
        maint_margin_rate=rate,
        maint_amount=amount,
        maint_margin=maint,
        maint_margin_usd=maint * margin_rate(pf, pos.margin_asset),
        liquidation_price=liquidation_price,
        liquidation_distance=None
        if liquidation_price is None
        else (liquidation_price - pos.mark_price) / pos.mark_price,
        liquidation_fee=pos.liquidation_fee,
    )


@exact
def risk(pf: Portfolio, with_compare: bool = False) -> RiskResult:
    acct = account(pf)
    solver = Solver(pf, acct)
    prices = [solver.liquidation_price(i) for i in range(len(pf.positions))]

    def row(i: int) -> PositionRow:
        with localcontext(ENGINE_CONTEXT):  # rows are built while they are written, outside `exact`
            return position_row(pf, pf.positions[i], prices[i])

    pool_rows = None
    if acct.pools is not None:
        pool_rows = tuple(
            PoolRow(p.name, p.asset, p.margin_type, p.equity, p.maint_margin, p.margin_ratio, p.band, p.buffer)
            for p in acct.pools
        )
    fee_usd, unknown = clearance_fee(pf)
    notes = []
    if pf.positions:
        notes.append(
            "clearance_fee_usd: an estimate of what liquidation would charge on top of the losses, "
            "notional times liquidation fee at current marks"
            + (f" (no fee known for {', '.join(unknown)}: left out)" if unknown else "")
        )
    return RiskResult(
        *_head("risk", pf),
        equity_usd=acct.equity_usd,
        maint_margin_usd=acct.maint_margin_usd,
        margin_ratio=acct.margin_ratio,
        band=acct.band,
        buffer_usd=acct.buffer_usd,
        clearance_fee_usd=fee_usd,
        totals=acct.totals,
        positions=Rows(row, len(prices)),
        pools=pool_rows,
        liquidation_shocks=liquidation_shocks(pf, solver),
        assumptions=_notes(pf, *notes),
        warnings=plausibility(pf),
        compare=compare(pf, (acct, prices)) if with_compare else None,
    )


def clearance_fee(pf: Portfolio) -> tuple[Decimal, list[str]]:
    """Σ notional × liquidation fee × the margin asset's margin rate (SPEC §10), and the symbols with no fee."""
    total = ZERO
    unknown: list[str] = []
    for pos in pf.positions:
        if pos.liquidation_fee is None:
            if pos.symbol not in unknown:
                unknown.append(pos.symbol)
            continue
        total += pos.notional * pos.liquidation_fee * margin_rate(pf, pos.margin_asset)
    return total, unknown


# ---------------------------------------------------------------------------------------------- what-if

NON_STABLE = "non-stable"


def shockable(pf: Portfolio) -> list[str]:
    """Non-stable assets held as collateral or traded as a position's base, in file order.

    What is stable (USD-pegged) is data: the rules profile's `stable = true` assets (SPEC §10).
    """
    stable = pf.rules.stable
    names = [n for n, a in pf.assets.items() if n not in stable and a.balance != 0]
    seen = set(names)
    for pos in pf.positions:
        if pos.base_asset and pos.base_asset not in stable and pos.base_asset not in seen:
            names.append(pos.base_asset)
            seen.add(pos.base_asset)
    return names


def liquidation_shocks(pf: Portfolio, solver: Solver) -> dict[str, Shocks]:
    """For each shockable asset, and for all of them together: the shock down and up that liquidates."""
    out = {}
    names = shockable(pf)
    groups = [(n, {n}) for n in names] + ([(NON_STABLE, set(names))] if len(names) > 1 else [])
    for label, group in groups:
        out[label] = Shocks(solver.liquidation_shock(group, -1), solver.liquidation_shock(group, 1))
    return out


@exact
def what_if(
    pf: Portfolio,
    prices: Iterable[tuple[str, Decimal]] = (),
    shocks: Iterable[tuple[str, Decimal]] = (),
    price_label: str = "price",
    shock_label: str = "shock",
) -> Portfolio:
    """The portfolio with index prices replaced and then shocked.

    A price replaces the asset's index price only.  A shock multiplies the asset's index price (if it is
    listed) and the mark of every position whose base asset it is by (1 + shock).  The labels name where the
    prices and shocks came from (the CLI passes its option names) in messages and assumptions.
    """
    prices, shocks = tuple(prices), tuple(shocks)
    if not prices and not shocks:
        return pf
    problems = []
    assets = dict(pf.assets)
    positions = list(pf.positions)
    notes = list(pf.assumptions)
    for name, value in prices:
        if name not in assets:
            problems.append(
                f"{pf.source}: {price_label} {name}: not an asset of this portfolio (assets: {', '.join(pf.assets)})"
            )
            continue
        notes.append(f"what-if: {name} index price {value} instead of {assets[name].price} ({price_label})")
        assets[name] = assets[name]._replace(price=value)
    for name, shock in shocks:
        factor = ONE + shock
        moved = sorted({p.symbol for p in positions if p.base_asset == name})
        if name not in assets and not moved:
            problems.append(f"{pf.source}: {shock_label} {name}: neither an asset nor the base of a position")
            continue
        parts = []
        if name in assets:
            parts.append(
                f"index {plain(assets[name].price * factor, 18, grouping=False)} instead of {assets[name].price}"
            )
            assets[name] = assets[name]._replace(price=assets[name].price * factor)
        if moved:
            parts.append(f"marks of {', '.join(moved)} moved by the same factor")
        positions = [p._replace(mark_price=p.mark_price * factor) if p.base_asset == name else p for p in positions]
        notes.append(f"what-if: {name} shocked {_percent(shock)}: {'; '.join(parts)} ({shock_label})")
    if problems:
        raise InputError(problems)
    for p in positions:
        last_cap = p.brackets[-1].cap if p.brackets else None
        if p.maint_margin_rate is None and last_cap is not None and p.notional >= last_cap:
            notes.append(
                f"{p.symbol}: notional {figure(p.notional)} is beyond the last bracket cap {figure(last_cap)}; "
                "the last bracket is extended"
            )
    return pf._replace(assets=assets, positions=tuple(positions), assumptions=tuple(notes))


def _percent(shock: Decimal) -> str:
    text = format((shock * 100).normalize(), "f")
    return ("+" if shock > 0 else "") + text + "%"


@exact
def stress(pf: Portfolio, asset: str, low: Decimal, high: Decimal, steps: int) -> StressResult:
    """The account at `steps` evenly spaced shocks of one asset, and the exact shock that liquidates it.

    A step re-values only what the shock moves: the positions on the asset (their marks) and the asset's own
    price; the other positions are summed once (valuation.Sums).  The same rules as `what_if` and `account`.
    """
    what_if(pf, shocks=[(asset, low)])  # an asset neither listed nor traded is an input error, as for --shock
    moving = [i for i, p in enumerate(pf.positions) if p.base_asset == asset]
    moved = set(moving)
    still = sums(pf, ((i, p) for i, p in enumerate(pf.positions) if i not in moved))
    rows = []
    for k in range(steps):
        shock = low + (high - low) * k / (steps - 1)
        factor = ONE + shock
        assets = pf.assets
        if asset in assets:
            assets = {**assets, asset: assets[asset]._replace(price=assets[asset].price * factor)}
        shocked = pf._replace(assets=assets)
        acct = account_from(shocked, merged(still, sums(shocked, ((i, pf.positions[i]) for i in moving), factor)))
        fires = bool(_triggers(shocked, acct))
        rows.append(StressStep(shock, acct.equity_usd, acct.maint_margin_usd, acct.margin_ratio, acct.band, fires))
    solver = Solver(pf, account(pf))
    candidates = [s for d in (-1, 1) if (s := solver.liquidation_shock({asset}, d)) is not None and low <= s <= high]
    worst = max(rows, key=lambda r: band_rank(r.band))
    return StressResult(
        *_head("stress", pf),
        asset=asset,
        from_=low,
        to=high,
        steps=tuple(rows),
        liquidation_shock=min(candidates, key=abs) if candidates else None,
        worst_band=worst.band,
        assumptions=_notes(pf),
        warnings=plausibility(pf),
    )


@exact
def compare(pf: Portfolio, known: tuple[Account, list[Decimal | None]] | None = None) -> tuple[Layout, ...]:
    """The account laid out three ways: every position isolated, single-asset cross, multi-asset.

    `known`: the account and liquidation prices of `pf` itself, already worked out by `risk`; the layout that
    is `pf` as it stands (a multi-asset account's own layout) reuses them instead of solving them again."""
    multi = converted(pf, MULTI)
    cross = multi._replace(mode=SINGLE)
    assets = dict(pf.assets)  # isolated wallets already isolated stay where they are
    iso_positions = []
    for pos in pf.positions:
        wallet = pos.isolated_wallet if pos.isolated else pos.initial_margin
        if not pos.isolated:
            a = assets[pos.margin_asset]
            assets[pos.margin_asset] = a._replace(balance=a.balance - wallet)
        iso_positions.append(pos._replace(margin_type="isolated", isolated_wallet=wallet))
    iso = pf._replace(mode=SINGLE, assets=assets, positions=tuple(iso_positions))
    layouts = []
    for name, view in (("isolated", iso), ("single-asset cross", cross), ("multi-asset", multi)):
        if view is pf and known is not None:
            acct, solved = known
        else:
            acct = account(view)
            solver = Solver(view, acct)
            solved = [solver.liquidation_price(i) for i in range(len(view.positions))]
        prices = tuple(LayoutPrice(p.symbol, p.side_name, lp) for p, lp in zip(view.positions, solved, strict=True))
        layouts.append(Layout(name, acct.equity_usd, acct.maint_margin_usd, acct.margin_ratio, acct.band, prices))
    return tuple(layouts)


# ---------------------------------------------------------------------------------------------- ltv


def _ltv(pf: Portfolio) -> tuple[Decimal | None, Decimal, Decimal, bool, bool]:
    """(ltv, negative_usd, positive_usd, applies, triggered): the seed's LTV of the wallet balances (SPEC §1)."""
    negative = sum((-a.balance * a.ask_rate for a in pf.assets.values() if a.balance < 0), ZERO)
    positive = sum((a.balance * a.bid_rate for a in pf.assets.values() if a.balance > 0), ZERO)
    value: Decimal | None
    if negative == 0:
        value = ZERO
    elif positive == 0:
        value = None  # unbounded
    else:
        value = negative / positive
    applies = pf.multi and not pf.positions and pf.open_orders == 0
    reached = value is None or value >= pf.rules.ltv_trigger
    return value, negative, positive, applies, bool(applies and negative > 0 and reached)


@exact
def ltv(pf: Portfolio) -> LtvResult:
    value, negative, positive, applies, triggered = _ltv(pf)
    note = None
    if not pf.multi:
        note = "single-asset mode: the LTV auto-exchange rule belongs to multi-asset mode and does not apply"
    elif not applies:
        note = "the LTV rule applies only with no open positions and no open orders"
    return LtvResult(
        *_head("ltv", pf),
        ltv=value,
        negative_usd=negative,
        positive_usd=positive,
        trigger=pf.rules.ltv_trigger,
        applies=applies,
        triggered=triggered,
        assumptions=_notes(pf, note),
        warnings=plausibility(pf),
    )


# ---------------------------------------------------------------------------------------------- auto-exchange


def _threshold_triggers(pf: Portfolio) -> list[ThresholdTrigger]:
    out = []
    for name, a in pf.assets.items():
        if a.balance >= 0:
            continue
        rule = pf.tier.threshold_for(name)
        if rule is None:
            continue
        threshold, unit = rule
        measure = a.balance * a.price if unit == "USD" else a.balance
        if measure <= threshold:
            out.append(ThresholdTrigger("threshold", name, threshold, unit, a.balance))
    return out


def thresholds(pf: Portfolio) -> tuple[Threshold, ...]:
    """Every listed asset's distance to its auto-exchange threshold (SPEC §9), in the threshold's unit."""
    out = []
    for name, a in pf.assets.items():
        rule = pf.tier.threshold_for(name)
        if rule is None:
            continue
        threshold, unit = rule
        measure = a.balance * a.price if unit == "USD" else a.balance
        source = "exchangeInfo" if name in pf.tier.from_exchange_info else "rules"
        out.append(Threshold(name, threshold, unit, a.balance, measure - threshold, source))
    return tuple(out)


def _triggers(pf: Portfolio, acct: Account) -> list[Trigger]:
    """The auto-exchange triggers that fire on the account (multi-asset mode only)."""
    if not pf.multi:
        return []
    triggers: list[Trigger] = list(_threshold_triggers(pf))
    negatives = any(a.balance < 0 for a in pf.assets.values())
    if acct.band == "liquidation" and negatives and acct.maint_margin_usd > 0:
        triggers.append(LiquidationTrigger("liquidation", acct.margin_ratio))
    value, _, _, _, triggered = _ltv(pf)
    if triggered:
        triggers.append(LtvTrigger("ltv", value, pf.rules.ltv_trigger))
    return triggers


def cover_plan(pf: Portfolio, deficit_assets: list[str]) -> CoverPlan:
    """Cover each deficit in full by selling the positive balances, shares in proportion to USD at index.

    Each source's share of the USD cost is proportional to its USD value at index; it sells share / its
    auto-exchange bid rate units.  A source that runs out sells everything and passes the rest of its share
    to the sources left, in the same proportions.  What nobody can cover is the shortfall.
    """
    owed = {n: -pf.assets[n].balance for n in deficit_assets}
    need = sum((q * pf.assets[n].ae_ask_rate for n, q in owed.items()), ZERO)
    total_need = need
    sources = {n: a for n, a in pf.assets.items() if a.balance > 0 and n not in owed}
    sold = dict.fromkeys(sources, ZERO)
    proceeds = dict.fromkeys(sources, ZERO)
    active = dict(sources)
    while need > 0 and active:
        weight = sum((a.balance * a.price for a in active.values()), ZERO)
        shares = {n: need * a.balance * a.price / weight for n, a in active.items()}
        exhausted = {n for n, a in active.items() if shares[n] >= a.balance * a.ae_bid_rate}
        if not exhausted:
            for n, a in active.items():
                sold[n] += shares[n] / a.ae_bid_rate
                proceeds[n] += shares[n]
            need = ZERO
            break
        for n in exhausted:
            a = active.pop(n)
            sold[n] += a.balance
            proceeds[n] += a.balance * a.ae_bid_rate
            need -= a.balance * a.ae_bid_rate
    shortfall = max(need, ZERO)
    covered = ONE if total_need == 0 else (total_need - shortfall) / total_need
    sales = tuple(
        Sale(n, sold[n], sold[n] * sources[n].price, proceeds[n], sources[n].ae_bid_rate)
        for n in sources
        if sold[n] > 0
    )
    deficits = tuple(
        Deficit(n, q, q * pf.assets[n].ae_ask_rate, q * covered, pf.assets[n].ae_ask_rate) for n, q in owed.items()
    )
    after = {n: a.balance for n, a in pf.assets.items()}
    for s in sales:
        after[s.asset] -= s.quantity
    for d in deficits:
        after[d.asset] += d.covered_quantity
    cost = sum((s.value_usd for s in sales), ZERO) - sum(
        (d.covered_quantity * pf.assets[d.asset].price for d in deficits), ZERO
    )
    return CoverPlan(sales, deficits, cost, shortfall, after)


@exact
def autoexchange(pf: Portfolio, what_if: bool = False) -> AutoexchangeResult:
    negatives = [n for n, a in pf.assets.items() if a.balance < 0]
    triggers = _triggers(pf, account(pf))
    notes = []
    if pf.multi:
        for n in negatives:
            if pf.tier.threshold_for(n) is None:
                notes.append(
                    f"{n}: tier {pf.tier.name} of rules {pf.rules.name} sets no auto-exchange "
                    "threshold; only the liquidation and LTV triggers apply to it"
                )
    else:
        notes.append("single-asset mode: auto-exchange is a multi-asset mode mechanism and never fires here")
    kinds = {t.kind for t in triggers}
    if kinds & {"liquidation", "ltv"}:
        cover = negatives
    elif kinds:
        cover = [t.asset for t in triggers if isinstance(t, ThresholdTrigger)]
    elif what_if:
        cover = negatives
        notes.append("what-if: nothing triggers now; the plan covers every negative balance as it stands")
    else:
        cover = []
    plan = cover_plan(pf, cover)
    return AutoexchangeResult(
        *_head("autoexchange", pf),
        triggered=bool(triggers),
        what_if=what_if,
        triggers=tuple(triggers),
        sales=plan.sales,
        deficits=plan.deficits,
        cost_usd=plan.cost_usd,
        shortfall_usd=plan.shortfall_usd,
        balances_after=plan.balances_after,
        thresholds=thresholds(pf) if pf.multi else (),
        assumptions=_notes(pf, *notes),
        warnings=plausibility(pf),
    )


# ---------------------------------------------------------------------------------------------- switching


def converted(pf: Portfolio, mode: str) -> Portfolio:
    """The account as it would be in `mode`.  Into multi-asset mode isolated positions become cross and
    their isolated wallets return to the margin asset's cross wallet (what converting them would do)."""
    if mode == pf.mode:
        return pf
    assets = dict(pf.assets)
    positions = []
    for pos in pf.positions:
        if mode == MULTI and pos.isolated:
            a = assets[pos.margin_asset]
            assets[pos.margin_asset] = a._replace(balance=a.balance + pos.isolated_wallet)
            pos = pos._replace(margin_type="cross", isolated_wallet=ZERO)
        positions.append(pos)
    return pf._replace(mode=mode, assets=assets, positions=tuple(positions))


def _summary(pf: Portfolio) -> Summary:
    acct = account(pf)
    return Summary(pf.mode, acct.equity_usd, acct.maint_margin_usd, acct.margin_ratio, acct.band)


def _switch_blockers(pf: Portfolio, to: str) -> list[Blocker]:
    blockers = []
    if to == MULTI:
        for pos in pf.positions:
            if pos.isolated:
                message = f"{pos.symbol} {pos.side_name} is isolated: make it cross or close it first"
                blockers.append(Blocker("isolated_position", -4167, pos.symbol, None, message))
    if pf.open_orders:
        message = f"{pf.open_orders} open order(s): cancel them first"
        blockers.append(Blocker("open_orders", -4170, None, None, message))
    for name, a in pf.assets.items():
        if a.balance < 0:
            message = f"{name} wallet balance is {figure(a.balance)}: bring it to 0 or above first"
            blockers.append(Blocker("negative_balance", -4172, None, name, message))
    if to == MULTI:
        admitted = ", ".join(sorted(pf.rules.contracts))
        for pos in pf.positions:
            if pos.contract not in pf.rules.contracts:
                message = (
                    f"{pos.symbol} is a {pos.contract} contract; rules {pf.rules.name} admit {admitted} "
                    "only in multi-asset mode"
                )
                blockers.append(Blocker("contract_not_admitted", None, pos.symbol, None, message))
    else:
        for pool in pools(converted(pf, SINGLE)):
            if pool.margin_type == "cross" and pool.equity < pool.initial_margin:
                message = (
                    f"{pool.asset} alone holds {figure(pool.equity)} against initial margin "
                    f"{figure(pool.initial_margin)} of its positions"
                )
                blockers.append(Blocker("insufficient_margin", -4169, None, pool.asset, message))
    return blockers


@exact
def switch_check(pf: Portfolio, to: str | None = None) -> SwitchResult:
    target = to or (SINGLE if pf.multi else MULTI)
    notes = []
    if target == pf.mode:
        blockers = []
        notes.append(f"the account is already in {target} mode: nothing to do (Binance answers -4171)")
    else:
        blockers = _switch_blockers(pf, target)
    if target == MULTI and any(p.isolated for p in pf.positions):
        notes.append(
            "preview: isolated positions are shown as cross, their isolated wallets returned to the cross wallet"
        )
    return SwitchResult(
        *_head("switch-check", pf),
        from_=pf.mode,
        to=target,
        allowed=not blockers,
        blockers=tuple(blockers),
        preview=Preview(_summary(pf), _summary(converted(pf, target))),
        assumptions=_notes(pf, *notes),
        warnings=plausibility(pf),
    )
