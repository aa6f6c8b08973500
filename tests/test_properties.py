"""Properties that must hold for every account, checked with hypothesis (issue 3)."""

import itertools
from decimal import Decimal as D
from decimal import localcontext

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mamcli import engine
from mamcli.model import Asset, Bracket, Portfolio, Position, select_bracket
from mamcli.numbers import ENGINE_CONTEXT
from mamcli.portfolio import RULES_DIR, load_rules

SEED = load_rules(f"{RULES_DIR}/seed.toml", "seed")
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

amount = st.decimals(min_value=D("-50000"), max_value=D("50000"), places=4)
positive = st.decimals(min_value=D("0.0001"), max_value=D("50000"), places=4)
price = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
buffer = st.decimals(min_value=D(0), max_value=D("0.3"), places=4)
rate = st.decimals(min_value=D("0.001"), max_value=D("0.1"), places=4)
NAMES = ["USDT", "USDC", "BTC", "ETH"]


def asset(name, balance, p, haircut=D("0.05"), ask=None, ae=D("0.025")):
    return Asset(
        name=name,
        balance=balance,
        price=p,
        haircut=haircut,
        ask_buffer=haircut if ask is None else ask,
        ae_haircut=ae,
        ae_ask_buffer=ae,
    )


def position(symbol, margin, side, qty, entry, mark, mmr=None, brackets=(), leverage=D(20)):
    return Position(
        symbol=symbol,
        side=side,
        quantity=qty,
        entry_price=entry,
        mark_price=mark,
        margin_asset=margin,
        base_asset=symbol[: -len(margin)],
        leverage=leverage,
        margin_type="cross",
        isolated_wallet=D(0),
        contract="perpetual",
        maint_margin_rate=mmr,
        maint_amount=D(0),
        brackets=brackets,
    )


def portfolio(assets, positions=(), mode="multi-asset"):
    return Portfolio(
        source="<test>",
        mode=mode,
        tier=SEED.tiers[0],
        open_orders=0,
        rules=SEED,
        assets={a.name: a for a in assets},
        positions=tuple(positions),
    )


@st.composite
def accounts(draw, min_positions=0):
    assets = [
        asset(n, draw(amount), D(1) if n.startswith("USD") else draw(price), draw(buffer))
        for n in NAMES[: draw(st.integers(1, 4))]
    ]
    positions = []
    for _ in range(draw(st.integers(min_positions, 3))):
        margin = draw(st.sampled_from([a.name for a in assets]))
        positions.append(
            position(
                "X" + margin,
                margin,
                draw(st.sampled_from([1, -1])),
                draw(positive),
                draw(price),
                draw(price),
                mmr=draw(rate),
            )
        )
    return portfolio(assets, positions)


@SETTINGS
@given(accounts(), st.integers(0, 3), st.decimals(min_value=D("0.0001"), max_value=D(1000), places=4), st.booleans())
def test_equity_never_falls_when_a_positive_balance_or_its_price_rises(pf, k, rise, raise_price):
    names = list(pf.assets)
    name = names[k % len(names)]
    a = pf.assets[name]
    assume(a.balance > 0 and not any(p.margin_asset == name for p in pf.positions))
    before = engine.equity(pf).equity_usd
    changed = a._replace(price=a.price + rise) if raise_price else a._replace(balance=a.balance + rise)
    after = engine.equity(pf._replace(assets={**pf.assets, name: changed})).equity_usd
    assert after >= before


@SETTINGS
@given(accounts())
def test_a_negative_balance_is_never_valued_better_than_at_its_ask_rate(pf):
    for row in engine.equity(pf).assets:
        a = pf.assets[row.asset]
        if row.margin_balance < 0:
            assert row.collateral_usd <= row.margin_balance * a.ask_rate
            assert row.collateral_usd <= row.margin_balance * a.bid_rate


@SETTINGS
@given(accounts(min_positions=1), st.decimals(min_value=D("0.01"), max_value=D(1000), places=2))
def test_scaling_balances_and_quantities_leaves_the_ratio_unchanged(pf, k):
    scaled = pf._replace(
        assets={n: a._replace(balance=a.balance * k) for n, a in pf.assets.items()},
        positions=tuple(p._replace(quantity=p.quantity * k) for p in pf.positions),
    )
    one, other = engine.risk(pf), engine.risk(scaled)
    assert one.margin_ratio == other.margin_ratio and one.band == other.band


@SETTINGS
@given(
    st.lists(st.tuples(st.sampled_from(NAMES), amount), min_size=2, max_size=4, unique_by=lambda t: t[0]),
    st.lists(price, min_size=4, max_size=4),
    st.lists(buffer, min_size=4, max_size=4),
)
def test_autoexchange_proceeds_cover_the_deficit_and_leave_nothing_negative(balances, prices, aes):
    assets = [asset(n, b, prices[i], ae=aes[i]) for i, (n, b) in enumerate(balances)]
    pf = portfolio(assets)
    r = engine.autoexchange(pf, what_if=True)
    with localcontext(ENGINE_CONTEXT):  # the test's own sums at the engine's precision (60 digits)
        proceeds = sum((s.proceeds_usd for s in r.sales), D(0))
        deficit = sum((d.value_usd for d in r.deficits), D(0))
        assert abs(proceeds + r.shortfall_usd - deficit) < D("1e-40")
    covered = {d.asset for d in r.deficits}
    for name, after in r.balances_after.items():
        if name in covered and r.shortfall_usd == 0:
            assert abs(after) < D("1e-40"), name  # a covered deficit returns to zero
        elif pf.assets[name].balance >= 0:
            assert after >= D("-1e-40"), name  # a source is never sold below zero
        else:
            assert after == pf.assets[name].balance or name in covered
    for s in r.sales:
        assert s.quantity <= pf.assets[s.asset].balance + D("1e-40")


@SETTINGS
@given(amount, st.lists(st.tuples(st.sampled_from([1, -1]), positive, price, price, rate), min_size=1, max_size=4))
def test_one_flat_stablecoin_single_and_multi_asset_agree(balance, rows):
    usdt = asset("USDT", balance, D(1), haircut=D(0), ask=D(0))
    positions = [
        position(f"S{i}USDT", "USDT", side, qty, entry, mark, mmr=mmr)
        for i, (side, qty, entry, mark, mmr) in enumerate(rows)
    ]
    multi = engine.risk(portfolio([usdt], positions))
    single = engine.risk(portfolio([usdt], positions, mode="single-asset"))
    for key in ("equity_usd", "maint_margin_usd", "margin_ratio", "band"):
        assert getattr(multi, key) == getattr(single, key), key
    assert [p.liquidation_price for p in multi.positions] == [p.liquidation_price for p in single.positions]


@st.composite
def consistent_tables(draw):
    floors = sorted(set(draw(st.lists(st.integers(1, 10**7), min_size=1, max_size=6))))
    rates = sorted(set(draw(st.lists(rate, min_size=len(floors) + 1, max_size=len(floors) + 1))))
    assume(len(rates) == len(floors) + 1)
    table = [Bracket(D(0), D(floors[0]), rates[0], D(0))]
    for i, f in enumerate(floors, 1):
        cap = D(floors[i]) if i < len(floors) else None
        cum = table[-1].cum + D(f) * (rates[i] - rates[i - 1])  # cum_n = cum_(n-1) + floor_n × Δmmr
        table.append(Bracket(D(f), cap, rates[i], cum))
    return tuple(table)


@SETTINGS
@given(consistent_tables())
def test_maintenance_is_continuous_across_the_floors_of_a_consistent_table(table):
    for lower, upper in itertools.pairwise(table):
        f = upper.floor
        assert select_bracket(table, f) is upper
        assert f * upper.mmr - upper.cum == f * lower.mmr - lower.cum  # both sides meet at the floor
        just_below = f - D("0.0001")
        assert select_bracket(table, just_below) is lower
        jump = (f * upper.mmr - upper.cum) - (just_below * lower.mmr - lower.cum)
        assert abs(jump) <= D("0.0001") * lower.mmr + D("1e-30")


def _moved(pf, index, price):
    """The portfolio with the symbol of position `index` marked at `price` and, in multi-asset mode, its
    base asset's index price moved by the same factor: what a liquidation price is defined against."""
    with localcontext(ENGINE_CONTEXT):  # the test's own arithmetic at the engine's precision
        pos = pf.positions[index]
        factor = price / pos.mark_price
        positions = tuple(
            p._replace(mark_price=p.mark_price * factor) if p.symbol == pos.symbol else p for p in pf.positions
        )
        assets = dict(pf.assets)
        if pf.multi and pos.base_asset in assets:
            assets[pos.base_asset] = assets[pos.base_asset]._replace(price=assets[pos.base_asset].price * factor)
        return pf._replace(assets=assets, positions=positions)


@st.composite
def collateral_accounts(draw):
    """USDT and BTC collateral with BTCUSDT positions on a consistent bracket table (so the co-moving
    collateral makes the buffer quadratic-free but the brackets and the bid/ask switch both matter)."""
    table = (
        Bracket(D(0), D(50000), D("0.004"), D(0)),
        Bracket(D(50000), D(250000), D("0.005"), D(50)),
        Bracket(D(250000), None, D("0.01"), D(1300)),
    )
    usdt = asset("USDT", draw(st.decimals(min_value=D(-2000), max_value=D(50000), places=2)), D(1), haircut=D("0.0001"))
    btc = asset("BTC", draw(st.decimals(min_value=D(0), max_value=D(3), places=3)), D(60000))
    positions = [
        position(
            "BTCUSDT",
            "USDT",
            draw(st.sampled_from([1, -1])),
            draw(st.decimals(min_value=D("0.01"), max_value=D(5), places=3)),
            draw(st.decimals(min_value=D(40000), max_value=D(80000), places=0)),
            D(60000),
            brackets=table,
        )
        for _ in range(draw(st.integers(1, 2)))
    ]
    mode = draw(st.sampled_from(["multi-asset", "single-asset"]))
    return portfolio([usdt, btc], positions, mode=mode)


def _buffer(pf, index):
    with localcontext(ENGINE_CONTEXT):
        return _buffer_exact(pf, index)


def _buffer_exact(pf, index):
    acct = engine.account(pf)
    if pf.multi:
        return acct.equity_usd - acct.maint_margin_usd
    pool = next(p for p in acct.pools if index in p.positions)
    return pool.equity - pool.maint_margin


@SETTINGS
@given(collateral_accounts())
def test_liquidation_price_is_the_first_zero_of_the_engines_buffer(pf):
    r = engine.risk(pf)
    for index, row in enumerate(r.positions):
        lp = row.liquidation_price
        mark = pf.positions[index].mark_price
        if lp is None or _buffer(pf, index) <= 0:
            continue
        assert abs(_buffer(_moved(pf, index, lp), index)) < D("1e-30")
        # a hair closer to the current mark the account is still alive
        with localcontext(ENGINE_CONTEXT):
            closer = lp + (mark - lp) * D("1e-9")
        assert _buffer(_moved(pf, index, closer), index) > 0


# ---------------------------------------------------------------------------------------------- names

# The grammar of asset and symbol names, as regular expressions; the loader checks them without re (start-up).
ASSET_PATTERN = r"[A-Z0-9]{1,20}\Z"
SYMBOL_PATTERN = r"[A-Z0-9]{2,40}(_[0-9A-Z]{1,12})?\Z"
NAME_TEXT = st.text(alphabet="AZ09az_-\n é", max_size=44) | st.sampled_from(
    [
        "BTC",
        "1000SATS",
        "BTCUSDT",
        "BTCUSDT_250627",
        "BTCUSDT_",
        "_X",
        "AB_C_D",
        "B",
        "BTC\n",
        "A" * 20,
        "A" * 21,
        "A" * 40,
        "A" * 41,
        "AB_" + "1" * 12,
        "AB_" + "1" * 13,
    ]
)


@SETTINGS
@given(NAME_TEXT)
def test_name_checks_follow_the_grammar(text):
    import re

    from mamcli.portfolio import is_asset_name, is_symbol_name

    assert is_asset_name(text) == bool(re.match(ASSET_PATTERN, text))
    assert is_symbol_name(text) == bool(re.match(SYMBOL_PATTERN, text))
