"""The calculation engine: pure functions from a Portfolio to result dicts (SPEC §1).

Stdlib only; no Click, no TOML, no output.  Every public function runs inside ENGINE_CONTEXT (60 digits,
traps on), so results do not depend on the caller's decimal context.  Results are plain dicts whose keys
are the JSON keys of SPEC §4, with Decimal values; render.py turns them into text.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from functools import wraps

from mamcli.model import BANDS, MULTI, SINGLE, InputError, Portfolio, Position, Rows
from mamcli.numbers import ENGINE_CONTEXT, ONE, ZERO, plain


def exact(fn):
    @wraps(fn)
    def run(*args, **kwargs):
        with localcontext(ENGINE_CONTEXT):
            return fn(*args, **kwargs)

    return run


def _head(command: str, pf: Portfolio) -> dict:
    return {"command": command, "mode": pf.mode, "rules": pf.rules.name, "tier": pf.tier.name}


def _tail(result: dict, pf: Portfolio, *extra: str) -> dict:
    result["assumptions"] = list(pf.assumptions) + [e for e in extra if e]
    return result


# ---------------------------------------------------------------------------------------------- bands


def band_of(ratio: Decimal | None, rules) -> str:
    """Seed bands: green < yellow-bound <= yellow <= red-bound < red < 1 <= liquidation."""
    if ratio is None or ratio >= ONE:
        return "liquidation"
    if ratio > rules.red:
        return "red"
    if ratio >= rules.yellow:
        return "yellow"
    return "green"


def ratio_and_band(maint: Decimal, equity: Decimal, rules) -> tuple[Decimal | None, str]:
    """Margin ratio and band.  No maintenance: ratio 0.  Maintenance against equity <= 0: None, liquidation."""
    if maint <= 0:
        return ZERO, "green"
    if equity <= 0:
        return None, "liquidation"
    ratio = maint / equity
    return ratio, band_of(ratio, rules)


def band_rank(band: str) -> int:
    return BANDS.index(band)


# ---------------------------------------------------------------------------------------------- pieces


def collateral_rate(margin_balance: Decimal, asset) -> Decimal:
    """The rate that gives min(mb × bid, mb × ask): bid for a positive balance, ask for a negative one."""
    return asset.bid_rate if margin_balance >= 0 else asset.ask_rate


def collateral_usd(margin_balance: Decimal, asset) -> Decimal:
    return margin_balance * collateral_rate(margin_balance, asset)


def cross_upnl(pf: Portfolio) -> dict[str, Decimal]:
    out = dict.fromkeys(pf.assets, ZERO)
    for pos in pf.positions:
        if not pos.isolated:
            out[pos.margin_asset] += pos.unrealized_pnl
    return out


def _margin_rate(pf: Portfolio, asset_name: str) -> Decimal:
    """USD per unit of margin asset for margins: the ask rate in multi-asset mode, the index price otherwise."""
    asset = pf.assets[asset_name]
    return asset.ask_rate if pf.multi else asset.price


def position_row(pf: Portfolio, pos: Position) -> dict:
    rate, amount = pos.maint_terms()
    maint = pos.maint_margin
    usd = _margin_rate(pf, pos.margin_asset)
    return {
        "symbol": pos.symbol,
        "side": pos.side_name,
        "quantity": pos.quantity,
        "margin_asset": pos.margin_asset,
        "margin_type": pos.margin_type,
        "entry_price": pos.entry_price,
        "mark_price": pos.mark_price,
        "notional": pos.notional,
        "unrealized_pnl": pos.unrealized_pnl,
        "leverage": pos.leverage,
        "initial_margin": pos.initial_margin,
        "maint_margin_rate": rate,
        "maint_amount": amount,
        "maint_margin": maint,
        "maint_margin_usd": maint * usd,
    }


def pools(pf: Portfolio) -> list[dict]:
    """Single-asset pools: one cross pool per margin asset of a cross position, one per isolated position."""
    upnl = cross_upnl(pf)
    cross: dict[str, dict] = {}
    isolated = []
    for pos in pf.positions:
        if pos.isolated:
            isolated.append(
                {
                    "pool": f"{pos.symbol} {pos.side_name} isolated",
                    "asset": pos.margin_asset,
                    "margin_type": "isolated",
                    "equity": pos.isolated_wallet + pos.unrealized_pnl,
                    "maint_margin": pos.maint_margin,
                    "initial_margin": pos.initial_margin,
                    "symbols": [pos.symbol],
                }
            )
            continue
        pool = cross.setdefault(
            pos.margin_asset,
            {
                "pool": pos.margin_asset,
                "asset": pos.margin_asset,
                "margin_type": "cross",
                "equity": pf.assets[pos.margin_asset].balance + upnl[pos.margin_asset],
                "maint_margin": ZERO,
                "initial_margin": ZERO,
                "symbols": [],
            },
        )
        pool["maint_margin"] += pos.maint_margin
        pool["initial_margin"] += pos.initial_margin
        pool["symbols"].append(pos.symbol)
    out = list(cross.values()) + isolated
    for pool in out:
        pool["margin_ratio"], pool["band"] = ratio_and_band(pool["maint_margin"], pool["equity"], pf.rules)
        pool["buffer"] = pool["equity"] - pool["maint_margin"]
        pool["price"] = pf.assets[pool["asset"]].price
    return out


def _riskiest(pool_list: list[dict]) -> dict | None:
    def key(pool):
        ratio = pool["margin_ratio"]
        return (band_rank(pool["band"]), ratio is None, ratio if ratio is not None else ZERO)

    return max(pool_list, key=key) if pool_list else None


# ---------------------------------------------------------------------------------------------- account


@exact
def account(pf: Portfolio) -> dict:
    """The account figures every command shares: equity, margins, ratio, band (either mode)."""
    rates = {name: _margin_rate(pf, name) for name in pf.assets}
    maint_usd = ZERO
    init_usd = ZERO
    for pos in pf.positions:
        maint_usd += pos.maint_margin * rates[pos.margin_asset]
        init_usd += pos.initial_margin * rates[pos.margin_asset]
    if pf.multi:
        upnl = cross_upnl(pf)
        equity_usd = sum((collateral_usd(a.balance + upnl[n], a) for n, a in pf.assets.items()), ZERO)
        ratio, band = ratio_and_band(maint_usd, equity_usd, pf.rules)
        return {
            "equity_usd": equity_usd,
            "maint_margin_usd": maint_usd,
            "initial_margin_usd": init_usd,
            "margin_ratio": ratio,
            "band": band,
            "buffer_usd": equity_usd - maint_usd,
            "pools": None,
        }
    pool_list = pools(pf)
    equity_usd = sum((p["equity"] * p["price"] for p in pool_list), ZERO)
    worst = _riskiest(pool_list)
    if worst is None:
        ratio, band, buffer_usd = ZERO, "green", ZERO
    else:
        ratio, band = worst["margin_ratio"], worst["band"]
        buffer_usd = min(p["buffer"] * p["price"] for p in pool_list)
    return {
        "equity_usd": equity_usd,
        "maint_margin_usd": maint_usd,
        "initial_margin_usd": init_usd,
        "margin_ratio": ratio,
        "band": band,
        "buffer_usd": buffer_usd,
        "pools": pool_list,
    }


@exact
def equity(pf: Portfolio) -> dict:
    acct = account(pf)
    upnl = cross_upnl(pf)
    pool_assets = {p["asset"]: p for p in (acct["pools"] or []) if p["margin_type"] == "cross"}
    rows = []
    for name, a in pf.assets.items():
        mb = a.balance + upnl[name]
        if pf.multi:
            rate = collateral_rate(mb, a)
        else:
            rate = a.price if name in pool_assets else ZERO
        rows.append(
            {
                "asset": name,
                "wallet_balance": a.balance,
                "unrealized_pnl": upnl[name],
                "margin_balance": mb,
                "price": a.price,
                "rate": rate,
                "value_usd": mb * a.price,
                "collateral_usd": mb * rate,
            }
        )
    result = _head("equity", pf)
    result.update(
        {
            "assets": rows,
            "value_usd": sum((r["value_usd"] for r in rows), ZERO),
            "equity_usd": acct["equity_usd"],
            "initial_margin_usd": acct["initial_margin_usd"],
        }
    )
    note = None
    if pf.multi:
        available_usd = acct["equity_usd"] - acct["initial_margin_usd"]
        available = {name: available_usd / a.ask_rate for name, a in pf.assets.items()}
    else:
        available = {name: p["equity"] - p["initial_margin"] for name, p in pool_assets.items()}
        available_usd = sum((v * pf.assets[n].price for n, v in available.items()), ZERO)
        note = (
            "single-asset mode: only the margin assets of positions count; idle assets are valued at 0, "
            "isolated wallets are not available to other positions"
        )
    result.update({"available_usd": available_usd, "available": available})
    return _tail(result, pf, note)


@exact
def risk(pf: Portfolio) -> dict:
    from mamcli.liquidation import Solver

    acct = account(pf)
    solver = Solver(pf, acct)
    result = _head("risk", pf)
    result.update({k: acct[k] for k in ("equity_usd", "maint_margin_usd", "margin_ratio", "band", "buffer_usd")})
    prices = [solver.liquidation_price(i) for i in range(len(pf.positions))]

    def row(i):
        out = position_row(pf, pf.positions[i])
        out["liquidation_price"] = prices[i]
        return out

    result["positions"] = Rows(row, len(prices))
    if not pf.multi:
        result["pools"] = [
            {
                k: p[k]
                for k in ("pool", "asset", "margin_type", "equity", "maint_margin", "margin_ratio", "band", "buffer")
            }
            for p in acct["pools"]
        ]
    result["liquidation_shocks"] = liquidation_shocks(pf, solver)
    return _tail(result, pf)


# ---------------------------------------------------------------------------------------------- what-if

STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "BFUSD", "USDE"})
NON_STABLE = "non-stable"


def shockable(pf: Portfolio) -> list[str]:
    """Non-stable assets held as collateral or traded as a position's base, in file order."""
    names = [n for n, a in pf.assets.items() if n not in STABLECOINS and a.balance != 0]
    for pos in pf.positions:
        if pos.base_asset and pos.base_asset not in STABLECOINS and pos.base_asset not in names:
            names.append(pos.base_asset)
    return names


def liquidation_shocks(pf: Portfolio, solver) -> dict:
    """For each shockable asset, and for all of them together: the shock down and up that liquidates."""
    out = {}
    names = shockable(pf)
    groups = [(n, {n}) for n in names] + ([(NON_STABLE, set(names))] if len(names) > 1 else [])
    for label, group in groups:
        out[label] = {"down": solver.liquidation_shock(group, -1), "up": solver.liquidation_shock(group, 1)}
    return out


@exact
def what_if(pf: Portfolio, prices=(), shocks=()) -> Portfolio:
    """The portfolio with index prices replaced (--price) and then shocked (--shock).

    A price replaces the asset's index price only.  A shock multiplies the asset's index price (if it is
    listed) and the mark of every position whose base asset it is by (1 + shock).
    """
    if not prices and not shocks:
        return pf
    problems = []
    assets = dict(pf.assets)
    positions = list(pf.positions)
    notes = list(pf.assumptions)
    for name, value in prices:
        if name not in assets:
            problems.append(
                f"{pf.source}: --price {name}: not an asset of this portfolio (assets: {', '.join(pf.assets)})"
            )
            continue
        notes.append(f"what-if: {name} index price {value} instead of {assets[name].price} (--price)")
        assets[name] = assets[name].replace(price=value)
    for name, shock in shocks:
        factor = ONE + shock
        moved = sorted({p.symbol for p in positions if p.base_asset == name})
        if name not in assets and not moved:
            problems.append(f"{pf.source}: --shock {name}: neither an asset nor the base of a position")
            continue
        parts = []
        if name in assets:
            parts.append(
                f"index {plain(assets[name].price * factor, 18, grouping=False)} instead of {assets[name].price}"
            )
            assets[name] = assets[name].replace(price=assets[name].price * factor)
        if moved:
            parts.append(f"marks of {', '.join(moved)} moved by the same factor")
        positions = [p.replace(mark_price=p.mark_price * factor) if p.base_asset == name else p for p in positions]
        notes.append(f"what-if: {name} shocked {_percent(shock)}: {'; '.join(parts)} (--shock)")
    if problems:
        raise InputError(problems)
    for p in positions:
        if p.maint_margin_rate is None and p.brackets[-1].cap is not None and p.notional >= p.brackets[-1].cap:
            notes.append(
                f"{p.symbol}: notional {p.notional} is beyond the last bracket cap "
                f"{p.brackets[-1].cap}; the last bracket is extended"
            )
    return pf.replace(assets=assets, positions=tuple(positions), assumptions=tuple(notes))


def _percent(shock: Decimal) -> str:
    text = format((shock * 100).normalize(), "f")
    return ("+" if shock > 0 else "") + text + "%"


@exact
def stress(pf: Portfolio, asset: str, low: Decimal, high: Decimal, steps: int) -> dict:
    """The account at `steps` evenly spaced shocks of one asset, and the exact shock that liquidates it."""
    from mamcli.liquidation import Solver

    rows = []
    for k in range(steps):
        shock = low + (high - low) * k / (steps - 1)
        shocked = what_if(pf, shocks=[(asset, shock)])
        acct = account(shocked)
        rows.append(
            {
                "shock": shock,
                "equity_usd": acct["equity_usd"],
                "maint_margin_usd": acct["maint_margin_usd"],
                "margin_ratio": acct["margin_ratio"],
                "band": acct["band"],
                "autoexchange": autoexchange(shocked)["triggered"],
            }
        )
    solver = Solver(pf, account(pf))
    candidates = [s for d in (-1, 1) if (s := solver.liquidation_shock({asset}, d)) is not None and low <= s <= high]
    result = _head("stress", pf)
    result.update(
        {
            "asset": asset,
            "from": low,
            "to": high,
            "steps": rows,
            "liquidation_shock": min(candidates, key=abs) if candidates else None,
        }
    )
    worst = max(rows, key=lambda r: band_rank(r["band"]))
    result["worst_band"] = worst["band"]
    return _tail(result, pf)


@exact
def compare(pf: Portfolio) -> dict:
    """The account laid out three ways: every position isolated, single-asset cross, multi-asset."""
    from mamcli.liquidation import Solver

    cross = converted(pf, MULTI).replace(mode=SINGLE)
    assets = dict(cross.assets)
    iso_positions = []
    for pos in pf.positions:
        wallet = pos.isolated_wallet if pos.isolated else pos.initial_margin
        if not pos.isolated:
            a = assets[pos.margin_asset]
            assets[pos.margin_asset] = a.replace(balance=a.balance - wallet)
        iso_positions.append(pos.replace(margin_type="isolated", isolated_wallet=wallet))
    iso = pf.replace(mode=SINGLE, assets=assets, positions=tuple(iso_positions))
    layouts = []
    for name, view in (("isolated", iso), ("single-asset cross", cross), ("multi-asset", converted(pf, MULTI))):
        acct = account(view)
        solver = Solver(view, acct)
        layouts.append(
            {
                "layout": name,
                "equity_usd": acct["equity_usd"],
                "maint_margin_usd": acct["maint_margin_usd"],
                "margin_ratio": acct["margin_ratio"],
                "band": acct["band"],
                "liquidation_prices": [
                    {"symbol": p.symbol, "side": p.side_name, "liquidation_price": solver.liquidation_price(i)}
                    for i, p in enumerate(view.positions)
                ],
            }
        )
    return layouts


# ---------------------------------------------------------------------------------------------- ltv


@exact
def ltv(pf: Portfolio) -> dict:
    negative = sum((-a.balance * a.ask_rate for a in pf.assets.values() if a.balance < 0), ZERO)
    positive = sum((a.balance * a.bid_rate for a in pf.assets.values() if a.balance > 0), ZERO)
    if negative == 0:
        value = ZERO
    elif positive == 0:
        value = None  # unbounded
    else:
        value = negative / positive
    applies = pf.multi and not pf.positions and pf.open_orders == 0
    reached = value is None or value >= pf.rules.ltv_trigger
    result = _head("ltv", pf)
    result.update(
        {
            "ltv": value,
            "negative_usd": negative,
            "positive_usd": positive,
            "trigger": pf.rules.ltv_trigger,
            "applies": applies,
            "triggered": bool(applies and negative > 0 and reached),
        }
    )
    note = None
    if not pf.multi:
        note = "single-asset mode: the LTV auto-exchange rule belongs to multi-asset mode and does not apply"
    elif not applies:
        note = "the LTV rule applies only with no open positions and no open orders"
    return _tail(result, pf, note)


# ---------------------------------------------------------------------------------------------- auto-exchange


def _threshold_triggers(pf: Portfolio) -> list[dict]:
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
            out.append({"kind": "threshold", "asset": name, "threshold": threshold, "unit": unit, "balance": a.balance})
    return out


def cover_plan(pf: Portfolio, deficit_assets: list[str]) -> dict:
    """Cover each deficit in full by selling the positive balances, shares in proportion to USD at index.

    Each source's share of the USD cost is proportional to its USD value at index; it sells share / its
    auto-exchange bid rate units.  A source that runs out sells everything and passes the rest of its share
    to the sources left, in the same proportions.  What nobody can cover is the shortfall.
    """
    deficits = [
        {"asset": n, "quantity": -pf.assets[n].balance, "value_usd": -pf.assets[n].balance * pf.assets[n].ae_ask_rate}
        for n in deficit_assets
    ]
    need = sum((d["value_usd"] for d in deficits), ZERO)
    total_need = need
    sources = {n: a for n, a in pf.assets.items() if a.balance > 0 and n not in deficit_assets}
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
    sales = [
        {
            "asset": n,
            "quantity": sold[n],
            "value_usd": sold[n] * sources[n].price,
            "proceeds_usd": proceeds[n],
            "rate": sources[n].ae_bid_rate,
        }
        for n in sources
        if sold[n] > 0
    ]
    after = {n: a.balance for n, a in pf.assets.items()}
    for s in sales:
        after[s["asset"]] -= s["quantity"]
    for d in deficits:
        d["covered_quantity"] = d["quantity"] * covered
        d["rate"] = pf.assets[d["asset"]].ae_ask_rate
        after[d["asset"]] += d["covered_quantity"]
    cost = sum((s["value_usd"] for s in sales), ZERO) - sum(
        (d["covered_quantity"] * pf.assets[d["asset"]].price for d in deficits), ZERO
    )
    return {"sales": sales, "deficits": deficits, "cost_usd": cost, "shortfall_usd": shortfall, "balances_after": after}


@exact
def autoexchange(pf: Portfolio, what_if: bool = False) -> dict:
    negatives = [n for n, a in pf.assets.items() if a.balance < 0]
    triggers: list[dict] = []
    notes = []
    if pf.multi:
        triggers += _threshold_triggers(pf)
        acct = account(pf)
        if acct["band"] == "liquidation" and negatives and acct["maint_margin_usd"] > 0:
            triggers.append({"kind": "liquidation", "margin_ratio": acct["margin_ratio"]})
        lt = ltv(pf)
        if lt["triggered"]:
            triggers.append({"kind": "ltv", "ltv": lt["ltv"], "trigger": lt["trigger"]})
        for n in negatives:
            if pf.tier.threshold_for(n) is None:
                notes.append(
                    f"{n}: tier {pf.tier.name} of rules {pf.rules.name} sets no auto-exchange "
                    "threshold; only the liquidation and LTV triggers apply to it"
                )
    else:
        notes.append("single-asset mode: auto-exchange is a multi-asset mode mechanism and never fires here")
    kinds = {t["kind"] for t in triggers}
    if kinds & {"liquidation", "ltv"}:
        cover = negatives
    elif kinds:
        cover = [t["asset"] for t in triggers]
    elif what_if:
        cover = negatives
        notes.append("what-if: nothing triggers now; the plan covers every negative balance as it stands")
    else:
        cover = []
    result = _head("autoexchange", pf)
    result.update({"triggered": bool(triggers), "what_if": what_if, "triggers": triggers})
    result.update(cover_plan(pf, cover))
    return _tail(result, pf, *notes)


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
            assets[pos.margin_asset] = a.replace(balance=a.balance + pos.isolated_wallet)
            pos = pos.replace(margin_type="cross", isolated_wallet=ZERO)
        positions.append(pos)
    return pf.replace(mode=mode, assets=assets, positions=tuple(positions))


def _summary(pf: Portfolio) -> dict:
    acct = account(pf)
    return {
        "mode": pf.mode,
        "equity_usd": acct["equity_usd"],
        "maint_margin_usd": acct["maint_margin_usd"],
        "margin_ratio": acct["margin_ratio"],
        "band": acct["band"],
    }


@exact
def switch_check(pf: Portfolio, to: str | None = None) -> dict:
    to = to or (SINGLE if pf.multi else MULTI)
    blockers = []
    notes = []
    if to == pf.mode:
        notes.append(f"the account is already in {to} mode: nothing to do (Binance answers -4171)")
    else:
        if to == MULTI:
            for pos in pf.positions:
                if pos.isolated:
                    blockers.append(
                        {
                            "reason": "isolated_position",
                            "binance_code": -4167,
                            "symbol": pos.symbol,
                            "message": f"{pos.symbol} {pos.side_name} is isolated: make it cross or close it first",
                        }
                    )
        if pf.open_orders:
            blockers.append(
                {
                    "reason": "open_orders",
                    "binance_code": -4170,
                    "message": f"{pf.open_orders} open order(s): cancel them first",
                }
            )
        for name, a in pf.assets.items():
            if a.balance < 0:
                blockers.append(
                    {
                        "reason": "negative_balance",
                        "binance_code": -4172,
                        "asset": name,
                        "message": f"{name} wallet balance is {a.balance}: bring it to 0 or above first",
                    }
                )
        if to == MULTI:
            for pos in pf.positions:
                if pos.contract not in pf.rules.contracts:
                    blockers.append(
                        {
                            "reason": "contract_not_admitted",
                            "binance_code": None,
                            "symbol": pos.symbol,
                            "message": f"{pos.symbol} is a {pos.contract} contract; rules "
                            f"{pf.rules.name} admit {', '.join(sorted(pf.rules.contracts))} "
                            "only in multi-asset mode",
                        }
                    )
        else:
            for pool in pools(converted(pf, SINGLE)):
                if pool["margin_type"] == "cross" and pool["equity"] < pool["initial_margin"]:
                    blockers.append(
                        {
                            "reason": "insufficient_margin",
                            "binance_code": -4169,
                            "asset": pool["asset"],
                            "message": f"{pool['asset']} alone holds {pool['equity']} against "
                            f"initial margin {pool['initial_margin']} of its positions",
                        }
                    )
    result = _head("switch-check", pf)
    result.update(
        {
            "from": pf.mode,
            "to": to,
            "allowed": not blockers,
            "blockers": blockers,
            "preview": {"from": _summary(pf), "to": _summary(converted(pf, to))},
        }
    )
    if to == MULTI and any(p.isolated for p in pf.positions):
        notes.append(
            "preview: isolated positions are shown as cross, their isolated wallets returned to the cross wallet"
        )
    return _tail(result, pf, *notes)
