"""Engine figures worked out by hand from SPEC.md §1 and §5; the arithmetic is written beside each assert."""

from decimal import Decimal as D

from conftest import r8, sample

from mamcli import engine, valuation
from mamcli.model import Bracket, select_bracket
from mamcli.portfolio import load_portfolio

FLAT_USDT = """
[assets.USDT]
balance = {balance}
price = 1
haircut = 0
ask_buffer = 0
"""


# ------------------------------------------------------------------------------------------ §5 golden figures


def test_btc_at_five_percent_haircut_counts_950_of_1000(load):
    pf = load("""
        [assets.BTC]
        balance = 0.02
        price = 50000
    """)
    row = engine.equity(pf).assets[0]
    assert row.value_usd == D("1000")  # 0.02 × 50,000
    assert row.collateral_usd == D("950")  # 1,000 × (1 − 0.05)
    assert row.rate == D("47500")  # bid rate 50,000 × 0.95


def test_seed_risk_rate_example():
    r = engine.risk(load_portfolio(sample("seed-example.toml")))
    assert r.maint_margin_usd == D("0.8228")  # 205.7 × 0.004, ask buffer 0
    assert r.equity_usd == D("121.7")  # haircut 0
    # 0.8228 / 121.7 = 0.0067608874… → 0.68 %
    assert r8(r.margin_ratio) == D("0.00676089")
    assert r.band == "green"
    assert r.buffer_usd == D("120.8772")  # 121.7 − 0.8228


def test_hedge_nets_to_plus_200_on_the_wallet(load):
    pf = load(
        FLAT_USDT.format(balance=1000)
        + """
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 63000
        mark_price = 60000
        maint_margin_rate = 0.004

        [[positions]]
        symbol = "ETHUSDT"
        side = "short"
        quantity = 2
        entry_price = 3250
        mark_price = 3000
        maint_margin_rate = 0.005
    """
    )
    eq = engine.equity(pf)
    usdt = eq.assets[0]
    assert usdt.unrealized_pnl == D("200")  # 0.1 × (60,000 − 63,000) + (−1) × 2 × (3,000 − 3,250)
    assert eq.equity_usd == D("1200")  # wallet 1,000 + 200, no haircut
    r = engine.risk(pf)
    assert r.maint_margin_usd == D("54")  # 6,000 × 0.004 + 6,000 × 0.005
    assert r.margin_ratio == D("0.045")  # 54 / 1,200
    assert r.band == "green"


def test_autoexchange_seed_5000_usdc_from_btc(load):
    pf = load(
        """
        [account]
        tier = "vip"
        [assets.USDC]
        balance = -5000
        price = 1
        autoexchange_haircut = 0
        [assets.BTC]
        balance = 1
        price = 60000
    """,
        rules="seed",
    )
    r = engine.autoexchange(pf)
    assert r.triggered and r.triggers[0]._asdict() == {
        "kind": "threshold",
        "asset": "USDC",
        "threshold": D("-5000"),
        "unit": "USD",
        "balance": D("-5000"),
    }
    sale = r.sales[0]
    # 5,000 / 0.975 = 5,128.205128… USD of BTC at index (Binance prints 5,128.20: it truncates)
    assert r8(sale.value_usd) == D("5128.20512821")
    assert r8(sale.quantity) == D("0.08547009")  # 5,000 / 58,500
    assert sale.proceeds_usd == D("5000")
    assert r8(r.cost_usd) == D("128.20512821")  # 5,128.205128… − 5,000
    assert r.shortfall_usd == 0
    assert r.balances_after["USDC"] == 0


# ------------------------------------------------------------------------------------------ valuation


def test_negative_margin_balance_is_valued_at_the_ask_rate(load):
    pf = load("""
        [assets.USDT]
        balance = 100
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 63000
        mark_price = 60000
        maint_margin_rate = 0.004
    """)
    row = engine.equity(pf).assets[0]
    assert row.margin_balance == D("-200")  # 100 − 300
    assert row.rate == D("1.0001")  # ask: 1 × (1 + 0.0001), not the bid 0.9999
    assert row.collateral_usd == D("-200.02")  # the conservative side: −200 × 1.0001 < −200 × 0.9999
    r = engine.risk(pf)
    assert r.band == "liquidation" and r.margin_ratio is None  # maintenance against equity ≤ 0


def test_available_for_orders_per_asset(load):
    pf = load("""
        [assets.USDT]
        balance = 1000
        price = 1
        [assets.BTC]
        balance = 0.1
        price = 50000
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 50000
        mark_price = 50000
        leverage = 10
        maint_margin_rate = 0.004
    """)
    eq = engine.equity(pf)
    # equity 1,000 × 0.9999 + 0.1 × 47,500 = 999.9 + 4,750 = 5,749.9
    assert eq.equity_usd == D("5749.9")
    # initial margin 5,000 / 10 = 500 USDT at ask 1.0001 = 500.05
    assert eq.initial_margin_usd == D("500.05")
    assert eq.available_usd == D("5249.85")
    assert r8(eq.available["USDT"]) == D("5249.32506749")  # 5,249.85 / 1.0001
    assert r8(eq.available["BTC"]) == D("0.09999714")  # 5,249.85 / (50,000 × 1.05)
    assert eq.value_usd == D("6000")  # 1,000 + 5,000 before haircuts
    assert not any("leverage" in a for a in eq.assumptions)  # leverage was given


# ------------------------------------------------------------------------------------------ brackets


def test_notional_exactly_on_a_floor_takes_the_upper_bracket():
    table = (Bracket(D(0), D(50000), D("0.004"), D(0)), Bracket(D(50000), D(250000), D("0.005"), D(40)))
    assert select_bracket(table, D("49999.99")).mmr == D("0.004")
    assert select_bracket(table, D("50000")).mmr == D("0.005")
    assert select_bracket(table, D("300000")).mmr == D("0.005")  # past the last cap: the last bracket


def test_maintenance_on_a_floor_uses_upper_rate_and_cum(load):
    pf = load(
        FLAT_USDT.format(balance=10000)
        + """
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 1
        entry_price = 50000
        mark_price = 50000
        [brackets]
        BTCUSDT = [ { floor = 0, cap = 50000, mmr = 0.004, cum = 0 },
                    { floor = 50000, cap = 250000, mmr = 0.005, cum = 40 } ]
    """
    )
    pos = engine.risk(pf).positions[0]
    # upper bracket: 50,000 × 0.005 − 40 = 210 (the lower one would give 200)
    assert (pos.maint_margin_rate, pos.maint_amount, pos.maint_margin) == (D("0.005"), D(40), D(210))


def test_consistent_cum_makes_maintenance_continuous(load):
    # cum_2 = 0 + 50,000 × (0.005 − 0.004) = 50: both sides of the floor give 200
    pf = load(
        FLAT_USDT.format(balance=10000)
        + """
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 1
        entry_price = 50000
        mark_price = 50000
        [brackets]
        BTCUSDT = [ { floor = 0, cap = 50000, mmr = 0.004, cum = 0 },
                    { floor = 50000, cap = 250000, mmr = 0.005, cum = 50 } ]
    """
    )
    assert engine.risk(pf).positions[0].maint_margin == D(200)


# ------------------------------------------------------------------------------------------ bands


def test_band_edges(load):
    rules = load(FLAT_USDT.format(balance=1)).rules
    assert valuation.band_of(D("0.4999"), rules) == "green"
    assert valuation.band_of(D("0.5"), rules) == "yellow"
    assert valuation.band_of(D("0.8"), rules) == "yellow"
    assert valuation.band_of(D("0.8001"), rules) == "red"
    assert valuation.band_of(D("0.9999"), rules) == "red"
    assert valuation.band_of(D("1"), rules) == "liquidation"
    assert valuation.ratio_and_band(D(0), D(-5), rules) == (D(0), "green")  # nothing to maintain
    assert valuation.ratio_and_band(D(1), D(0), rules) == (None, "liquidation")


def test_red_band_sample():
    r = engine.risk(load_portfolio(sample("red-band.toml")))
    # USDT: 30,000 + 10 × (60,000 − 64,000) = −10,000 → × 1.0001 = −10,001
    # BTC: 0.27 × 57,000 = 15,390 → equity 5,389
    assert r.equity_usd == D("5389")
    # notional 600,000 in (250k, 1M]: 600,000 × 0.01 − 1,300 = 4,700 USDT × 1.0001 = 4,700.47
    assert r.maint_margin_usd == D("4700.47")
    assert r8(r.margin_ratio) == D("0.87223418")  # 4,700.47 / 5,389: 5,389 × 0.8722 = 4,700.2858, rest 0.1842 / 5,389
    assert r.band == "red"
    assert r.buffer_usd == D("688.53")


# ------------------------------------------------------------------------------------------ single-asset


def test_single_and_multi_on_the_same_account():
    pf = load_portfolio(sample("single-isolated.toml"))
    single = engine.risk(pf)
    usdt, btc, eth = single.pools  # cross pools in asset order (the idle BTC wallet is one), then isolated
    # USDT cross pool: 1,200 + 0.2 × (60,000 − 62,000) = 800; maintenance 12,000 × 0.004 = 48
    assert (usdt.equity, usdt.maint_margin, usdt.margin_ratio) == (D(800), D(48), D("0.06"))
    # ETH isolated: 400 + (−1) × 3 × (3,000 − 2,950) = 250; maintenance 9,000 × 0.005 = 45; 45/250
    assert (eth.equity, eth.maint_margin, eth.margin_ratio) == (D(250), D(45), D("0.18"))
    # BTC: an idle wallet is still a pool (SPEC §1): equity 0.1 BTC, nothing to maintain
    assert (btc.pool, btc.equity, btc.maint_margin, btc.margin_ratio) == ("BTC", D("0.1"), 0, 0)
    assert single.margin_ratio == D("0.18") and single.band == "green"  # the riskiest pool
    assert single.equity_usd == D(7050)  # 800 + 250 + 0.1 × 60,000 at index, no haircut
    assert single.buffer_usd == D(205)  # least buffer of a pool with positions: 250 − 45 (USDT: 800 − 48)
    multi = engine.risk(engine.converted(pf, "multi-asset"))
    # USDT 1,200 + 400 − 550 = 1,050 × 0.9999 = 1,049.895; BTC 0.1 × 57,000 = 5,700
    assert multi.equity_usd == D("6749.895")
    assert multi.maint_margin_usd == D("93.0093")  # 93 × 1.0001
    assert r8(multi.margin_ratio) == D(
        "0.01377937"
    )  # 93.0093 / 6,749.895: 6,749.895 × 0.013779 = 93.0068, rest 0.0025 / 6,749.895


def test_single_asset_equity_counts_every_pool():
    eq = engine.equity(load_portfolio(sample("single-isolated.toml")))
    btc = next(a for a in eq.assets if a.asset == "BTC")
    # the idle BTC wallet is its own pool at index price: 0.1 × 60,000 (it backs no USDT position)
    assert btc.collateral_usd == D(6000) and btc.value_usd == D(6000)
    assert eq.equity_usd == D(7050)  # USDT 800 + ETH isolated 250 + BTC 6,000
    # USDT cross pool 800 − initial margin 12,000 / 20 = 600 → 200 available; BTC 0.1 − 0 → 0.1
    assert eq.available == {"USDT": D(200), "BTC": D("0.1")}


def test_single_asset_totals_as_binance_reports_them(load):
    # Binance's GET /fapi/v2/account, single-asset mode: an idle 31.02261200 USDT wallet has margin balance and
    # available 31.02261200 (SPEC §1: checked against real captures), not 0.
    pf = load("""
        [account]
        mode = "single-asset"
        [assets.USDT]
        balance = 31.022612
        price = 1
    """)
    acct = valuation.account(pf)
    t = acct.totals["USDT"]
    assert (t.margin_balance, t.maint_margin, t.initial_margin, t.available) == (D("31.022612"), 0, 0, D("31.022612"))
    assert acct.equity_usd == D("31.022612") and engine.equity(pf).available == {"USDT": D("31.022612")}
    # With positions (sample single-isolated): USDT margin balance = cross 1,200 + isolated 400 + uPnL −400 − 150
    # = 1,050; maintenance 48 + 45 = 93; initial 600 + 9,000 / 25 = 960; available = cross pool 800 − 600 = 200.
    t = valuation.account(load_portfolio(sample("single-isolated.toml"))).totals["USDT"]
    assert (t.margin_balance, t.maint_margin, t.initial_margin, t.available) == (D(1050), D(93), D(960), D(200))
    # A pool whose initial margin exceeds its equity has 0 available, never a negative figure
    pf = load("""
        [account]
        mode = "single-asset"
        [assets.USDT]
        balance = 10
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 60000
        mark_price = 60000
        leverage = 20
        maint_margin_rate = 0.004
    """)
    assert valuation.account(pf).totals["USDT"].available == 0  # 10 − 6,000 / 20 = −290 → 0


# ------------------------------------------------------------------------------------------ LTV


def test_idle_account_ltv():
    r = engine.ltv(load_portfolio(sample("idle-ltv.toml")))
    assert r.negative_usd == D("9960.996")  # 9,960 × 1.0001
    assert r.positive_usd == D("9975")  # 0.175 × 57,000
    assert r8(r.ltv) == D("0.99859609")  # 9,960.996 / 9,975
    assert r.applies and r.triggered


def test_ltv_unbounded_and_not_applying(load):
    r = engine.ltv(
        load("""
        [assets.USDT]
        balance = -10
        price = 1
    """)
    )
    assert r.ltv is None and r.positive_usd == 0 and r.triggered
    r = engine.ltv(load_portfolio(sample("hedged.toml")))
    assert r.ltv == 0 and not r.applies and not r.triggered


def test_ltv_with_positions_open_does_not_trigger(load):
    r = engine.ltv(
        load("""
        [account]
        open_orders = 1
        [assets.USDT]
        balance = -100
        price = 1
        [assets.BTC]
        balance = 0.001
        price = 60000
    """)
    )
    assert r8(r.ltv) == D("1.75456140")  # 100.01 / 57
    assert not r.applies and not r.triggered


# ------------------------------------------------------------------------------------------ auto-exchange


def test_each_asset_is_judged_alone_against_the_threshold(load):
    text = """
        [assets.USDT]
        balance = {usdt}
        price = 1
        [assets.USDC]
        balance = -9000
        price = 1
        [assets.BTC]
        balance = 1
        price = 60000
    """
    r = engine.autoexchange(load(text.format(usdt=-9000), rules="seed"))
    assert not r.triggered and r.sales == () and r.deficits == ()
    r = engine.autoexchange(load(text.format(usdt=-10000), rules="seed"))  # exactly on −10,000 USD: at or below
    assert [t.asset for t in r.triggers] == ["USDT"]
    assert [d.asset for d in r.deficits] == ["USDT"]  # only the breaching asset is covered
    assert r.balances_after["USDC"] == D(-9000)


def test_split_across_two_collateral_assets(load):
    pf = load(
        """
        [account]
        tier = "vip"
        [assets.USDC]
        balance = -5000
        price = 1
        autoexchange_haircut = 0
        [assets.BTC]
        balance = 0.1
        price = 60000
        [assets.ETH]
        balance = 2
        price = 2000
    """,
        rules="seed",
    )
    r = engine.autoexchange(pf)
    btc, eth = r.sales
    # weights 6,000 : 4,000 → proceeds 3,000 and 2,000
    assert (btc.proceeds_usd, eth.proceeds_usd) == (D(3000), D(2000))
    assert r8(btc.quantity) == D("0.05128205")  # 3,000 / 58,500
    assert r8(eth.quantity) == D("1.02564103")  # 2,000 / 1,950
    assert r8(r.cost_usd) == D("128.20512821")  # (3,000 + 2,000) / 0.975 − 5,000
    assert r8(r.balances_after["ETH"]) == D("0.97435897")


def test_a_source_that_runs_out_passes_its_share_on(load):
    pf = load(
        """
        [account]
        tier = "vip"
        [assets.USDT]
        balance = -6000
        price = 1
        autoexchange_haircut = 0
        [assets.BNB]
        balance = 10
        price = 500
        autoexchange_haircut = 0.5
        [assets.USDC]
        balance = 5000
        price = 1
        autoexchange_haircut = 0
    """,
        rules="seed",
    )
    r = engine.autoexchange(pf)
    sales = {s.asset: s for s in r.sales}
    # BNB's share 6,000 × 5,000/10,000 = 3,000 > all it can raise (10 × 250 = 2,500): it sells out
    assert sales["BNB"].quantity == D(10) and sales["BNB"].proceeds_usd == D(2500)
    # USDC covers the rest: 6,000 − 2,500 = 3,500
    assert sales["USDC"].quantity == D(3500)
    assert r.shortfall_usd == 0
    assert r.cost_usd == D(2500)  # 5,000 + 3,500 sold at index − 6,000 deficit


def test_shortfall_when_every_source_runs_out(load):
    pf = load("""
        [assets.USDT]
        balance = -10000
        price = 1
        autoexchange_haircut = 0
        [assets.BTC]
        balance = 0.1
        price = 60000
        [assets.USDC]
        balance = 1000
        price = 1
        autoexchange_haircut = 0
    """)
    r = engine.autoexchange(pf)
    # everything sold: 0.1 × 58,500 + 1,000 = 6,850 of the 10,000 needed
    assert r.shortfall_usd == D(3150)
    assert r.balances_after == {"USDT": D(-3150), "BTC": 0, "USDC": 0}
    assert r.cost_usd == D(150)  # 6,000 + 1,000 at index − 6,850 covered
    assert r.deficits[0].covered_quantity == D(6850)


def test_liquidation_trigger_covers_every_negative_balance(load):
    pf = load("""
        [assets.USDT]
        balance = -100
        price = 1
        [assets.USDC]
        balance = -50
        price = 1
        [assets.BTC]
        balance = 0.01
        price = 20000
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 1
        entry_price = 20000
        mark_price = 20000
        maint_margin_rate = 0.01
    """)
    r = engine.autoexchange(pf)
    # equity −100.01 − 50.005 + 190 = 39.985 < maintenance 200.02: ratio over 100 %
    assert [t.kind for t in r.triggers] == ["liquidation"]
    assert {d.asset for d in r.deficits} == {"USDT", "USDC"}


def test_what_if_shows_the_plan_without_triggering():
    pf = load_portfolio(sample("usdc-deficit.toml"))
    assert engine.autoexchange(pf).deficits == ()
    r = engine.autoexchange(pf, what_if=True)
    assert not r.triggered and r.what_if
    assert r.deficits[0].asset == "USDC" and r.shortfall_usd == 0
    # cost of the deficit: 9,500 × 0.9998 = 9,498.1; × 1.0001 = 9,498.1 + 0.94981 = 9,499.04981
    assert r8(r.deficits[0].value_usd) == D("9499.04981")


def test_binance_2025_thresholds_are_in_asset_units():
    pf = load_portfolio(sample("usdc-deficit.toml"), rules="binance-2025", tier="regular")
    r = engine.autoexchange(pf)
    assert pf.tier.name == "regular"
    assert r.triggers[0].unit == "USDC" and r.triggers[0].threshold == D(-5000)


# ------------------------------------------------------------------------------------------ switching


def test_switch_to_multi_refused_for_isolated_position():
    r = engine.switch_check(load_portfolio(sample("single-isolated.toml")))
    assert (r.from_, r.to, r.allowed) == ("single-asset", "multi-asset", False)
    assert [(b.reason, b.binance_code, b.symbol) for b in r.blockers] == [("isolated_position", -4167, "ETHUSDT")]
    assert r.preview.from_.equity_usd == D(7050)  # every pool at index, the idle BTC included
    assert r.preview.to.equity_usd == D("6749.895")


def test_switch_blockers_orders_balances_contracts(load):
    text = """
        [account]
        mode = "single-asset"
        open_orders = 2
        [assets.USDT]
        balance = -5
        price = 1
        [assets.BTC]
        balance = 1
        price = 60000
        [[positions]]
        symbol = "BTCUSDT_251226"
        side = "long"
        quantity = 0.01
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.004
    """
    r = engine.switch_check(load(text, rules="seed"))  # perpetuals only there
    assert [(b.reason, b.binance_code) for b in r.blockers] == [
        ("open_orders", -4170),
        ("negative_balance", -4172),
        ("contract_not_admitted", None),
    ]
    r = engine.switch_check(load(text, rules="binance-2025"))  # delivery admitted there
    assert "contract_not_admitted" not in [b.reason for b in r.blockers]


def test_switch_back_to_single_needs_each_pool_to_carry_itself(load):
    pf = load("""
        [assets.USDC]
        balance = 0
        price = 1
        [assets.BTC]
        balance = 1
        price = 60000
        [[positions]]
        symbol = "ETHUSDC"
        side = "long"
        quantity = 5
        entry_price = 2000
        mark_price = 2000
        leverage = 20
        maint_margin_rate = 0.005
    """)
    r = engine.switch_check(pf)
    # USDC pool 0 against initial margin 10,000 / 20 = 500
    assert [(b.reason, b.binance_code, b.asset) for b in r.blockers] == [("insufficient_margin", -4169, "USDC")]
    assert r.preview.to.band == "liquidation"


def test_switch_to_the_current_mode_is_nothing_to_do():
    r = engine.switch_check(load_portfolio(sample("hedged.toml")), "multi-asset")
    assert r.allowed and r.blockers == ()
    assert any("-4171" in a for a in r.assumptions)
