"""Liquidation prices, shocks and stress (SPEC §6), worked out by hand; the arithmetic is in the comments."""

import json
from decimal import Decimal as D
from decimal import localcontext

import pytest
from click.testing import CliRunner
from conftest import div, r8, sample

from mamcli import engine
from mamcli.cli import main
from mamcli.numbers import ENGINE_CONTEXT
from mamcli.portfolio import load_portfolio
from mamcli.results import Shocks

BTC_BRACKETS = """BTCUSDT = [
  { floor = 0, cap = 50000, mmr = 0.004, cum = 0 }, { floor = 50000, cap = 250000, mmr = 0.005, cum = 50 },
  { floor = 250000, cap = 1000000, mmr = 0.01, cum = 1300 }, { floor = 1000000, cap = 5000000, mmr = 0.025, cum = 16300 },
  { floor = 5000000, cap = 20000000, mmr = 0.05, cum = 141300 }, { floor = 20000000, cap = 50000000, mmr = 0.1, cum = 1141300 },
  { floor = 50000000, cap = 100000000, mmr = 0.125, cum = 2391300 },
  { floor = 100000000, cap = 200000000, mmr = 0.15, cum = 4891300 },
  { floor = 200000000, cap = 300000000, mmr = 0.25, cum = 24891300 },
  { floor = 300000000, cap = 500000000, mmr = 0.5, cum = 99891300 } ]
"""
ETH_BRACKETS = """ETHUSDT = [
  { floor = 0, cap = 10000, mmr = 0.005, cum = 0 }, { floor = 10000, cap = 100000, mmr = 0.0065, cum = 15 },
  { floor = 100000, cap = 500000, mmr = 0.01, cum = 365 }, { floor = 500000, cap = 1000000, mmr = 0.02, cum = 5365 },
  { floor = 1000000, cap = 2000000, mmr = 0.05, cum = 35365 }, { floor = 2000000, cap = 5000000, mmr = 0.1, cum = 135365 },
  { floor = 5000000, cap = 10000000, mmr = 0.125, cum = 260365 },
  { floor = 10000000, cap = 20000000, mmr = 0.15, cum = 510365 }, { floor = 20000000, mmr = 0.25, cum = 2510365 } ]
"""

BINANCE_EXAMPLE = (
    """
[account]
mode = "{mode}"
[assets.USDT]
balance = 1535443.01
price = 1
{buffers}
[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 109.488
entry_price = 32481.98
mark_price = 31967.27
[[positions]]
symbol = "ETHUSDT"
side = "long"
quantity = 3683.979
entry_price = 1456.84
mark_price = 1335.18
[brackets]
"""
    + BTC_BRACKETS
    + ETH_BRACKETS
)


def binance_formula(wb, tmm, upnl, cum, side, qty, entry, mmr):
    """SPEC §6: LP = (WB − TMM + UPNL + cum − side·qty·EP) / (qty·MMR − side·qty)."""
    with localcontext(ENGINE_CONTEXT):
        return (wb - tmm + upnl + cum - side * qty * entry) / (qty * mmr - side * qty)


def by_hand_binance_example():
    wb = D("1535443.01")
    # BTC: notional 109.488 × 31,967.27 = 3,500,032.45776 → bracket (1M, 5M): 0.025, cum 16,300
    btc_mm = D("3500032.45776") * D("0.025") - 16300  # 71,200.811444
    btc_upnl = D("109.488") * (D("31967.27") - D("32481.98"))  # −56,354.56848
    # ETH: notional 3,683.979 × 1,335.18 = 4,918,775.08122 → bracket (2M, 5M): 0.1, cum 135,365
    eth_mm = D("4918775.08122") * D("0.1") - 135365  # 356,512.508122
    eth_upnl = D("3683.979") * (D("1335.18") - D("1456.84"))  # −448,192.88514
    # BTC's price: its notional there (≈ 2.88M) stays in (1M, 5M)
    btc = binance_formula(wb, eth_mm, eth_upnl, 16300, 1, D("109.488"), D("32481.98"), D("0.025"))
    # ETH's price: its notional there (≈ 4.25M) stays in (2M, 5M)
    eth = binance_formula(wb, btc_mm, btc_upnl, 135365, 1, D("3683.979"), D("1456.84"), D("0.1"))
    return btc, eth


def test_binance_published_example_single_asset_cross(load):
    btc, eth = by_hand_binance_example()
    assert (round(btc, 2), round(eth, 2)) == (D("26316.89"), D("1153.26"))  # Binance's own figures
    r = engine.risk(load(BINANCE_EXAMPLE.replace("{mode}", "single-asset").replace("{buffers}", "")))
    assert [p.liquidation_price for p in r.positions] == [btc, eth]


def test_same_account_multi_asset_with_zero_buffers_gives_the_same_prices(load):
    btc, eth = by_hand_binance_example()
    r = engine.risk(
        load(BINANCE_EXAMPLE.replace("{mode}", "multi-asset").replace("{buffers}", "haircut = 0\nask_buffer = 0"))
    )
    assert [r8(p.liquidation_price) for p in r.positions] == [r8(btc), r8(eth)]


BTC_ON_BTC = """
[assets.USDT]
balance = 1000
price = 1
haircut = 0
ask_buffer = {usdt_ask}
[assets.BTC]
balance = 0.5
price = 60000
[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 1
entry_price = 60000
mark_price = 60000
maint_margin_rate = 0.005
"""


def test_btc_long_backed_by_btc_collateral(load):
    pf = load(BTC_ON_BTC.format(usdt_ask=0))
    lp = engine.risk(pf).positions[0].liquidation_price
    # USDT: 1,000 + (m − 60,000) = m − 59,000; BTC 0.5 × m × 0.95 = 0.475m; maintenance 0.005m
    # m − 59,000 + 0.475m − 0.005m = 0 → m = 59,000 / 1.47
    assert lp == div(59000, "1.47")
    assert r8(lp) == D("40136.05442177")
    # had the collateral not moved: m − 59,000 + 28,500 − 0.005m = 0 → m = 30,500 / 0.995 = 30,653.27
    fixed_collateral = div(30500, "0.995")
    assert lp > fixed_collateral + 9000  # the falling collateral brings liquidation 9,483 closer
    from mamcli.liquidation import Solver

    solver = Solver(pf, engine.account(pf))
    with localcontext(ENGINE_CONTEXT):
        assert r8(pf.positions[0].mark_price * (1 + solver._multi([0], set(), -1))) == r8(fixed_collateral)


def test_negative_margin_balance_switches_to_the_ask_rate_on_the_way_down(load):
    lp = engine.risk(load(BTC_ON_BTC.format(usdt_ask="0.0001"))).positions[0].liquidation_price
    # below 59,000 the USDT margin balance is negative, valued at 1.0001:
    # 1.0001(m − 59,000) + 0.475m − 0.0050005m = 0 → m = 59,005.9 / 1.4700995
    assert r8(lp) == r8(div("59005.9", "1.4700995"))  # equal to 59 of 60 digits
    assert r8(lp) == D("40137.35124731")  # 1.4700995 × 40,137 = 59,005.3836; rest 0.5164 / 1.4701


def test_hedged_short_against_btc_collateral(load):
    pf = load("""
        [assets.USDT]
        balance = 1000
        price = 1
        haircut = 0
        ask_buffer = 0
        [assets.BTC]
        balance = 0.5
        price = 60000
        [[positions]]
        symbol = "BTCUSDT"
        side = "short"
        quantity = 0.5
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.005
    """)
    lp = engine.risk(pf).positions[0].liquidation_price
    # USDT 1,000 − 0.5(m − 60,000) = 31,000 − 0.5m; BTC 0.475m; maintenance 0.0025m
    # 31,000 − 0.5m + 0.475m − 0.0025m = 0 → m = 31,000 / 0.0275 = 1,127,272.73
    assert lp == div(31000, "0.0275")


def test_liquidation_price_in_another_bracket(load):
    pf = load("""
        [account]
        mode = "single-asset"
        [assets.USDT]
        balance = 15000
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 1
        entry_price = 60000
        mark_price = 60000
        [brackets]
        BTCUSDT = [ { floor = 0, cap = 50000, mmr = 0.004, cum = 0 },
                    { floor = 50000, cap = 250000, mmr = 0.005, cum = 50 } ]
    """)
    lp = engine.risk(pf).positions[0].liquidation_price
    # now in bracket 2; with its terms (15,000 + 50 − 60,000)/(0.005 − 1) = 45,175.88: below its floor 50,000,
    # so bracket 1 applies: (15,000 + 0 − 60,000)/(0.004 − 1) = 45,000 / 0.996
    assert lp == div(45000, "0.996")
    assert r8(lp) == D("45180.72289157")


def test_no_positive_price_liquidates(load):
    pf = load("""
        [assets.USDT]
        balance = 100000
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.004
    """)
    r = engine.risk(pf)
    assert r.positions[0].liquidation_price is None
    assert r.liquidation_shocks == {"BTC": Shocks(None, None)}


def test_shock_turns_a_margin_balance_negative(load):
    text = """
        [assets.USDT]
        balance = 100
        price = 1
        [assets.BTC]
        balance = 0.01
        price = 60000
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.004
    """
    pf = engine.what_if(load(text), shocks=[("BTC", D("-0.1"))])
    assert pf.positions[0].mark_price == D(54000) and pf.assets["BTC"].price == D(54000)
    eq = engine.equity(pf)
    usdt = eq.assets[0]
    # uPnL 0.1 × (54,000 − 60,000) = −600 → margin balance −500, at the ask rate 1.0001
    assert usdt.margin_balance == D(-500) and usdt.collateral_usd == D("-500.05")
    assert eq.equity_usd == D("-500.05") + D("0.01") * 54000 * D("0.95")  # BTC 513.0 → 12.95
    assert any("BTC shocked -10%" in a for a in eq.assumptions)


def test_price_override_moves_no_marks(load):
    pf = engine.what_if(load_portfolio(sample("hedged.toml")), prices=[("BTC", D(50000))])
    assert pf.assets["BTC"].price == D(50000) and pf.positions[0].mark_price == D(60000)
    # BTC collateral 0.05 × 50,000 × 0.95 = 2,375 instead of 2,850
    assert engine.equity(pf).equity_usd == D("5049.78") - D(475)


def test_liquidation_shock_agrees_with_risk_at_that_shock():
    pf = load_portfolio(sample("hedged.toml"))
    s = engine.risk(pf).liquidation_shocks["BTC"].down
    at = engine.account(engine.what_if(pf, shocks=[("BTC", s)]))
    # the root is exact to the engine's 60 digits: the buffer there is zero to ~1e-50, the ratio 100 %
    assert abs(at.equity_usd - at.maint_margin_usd) < D("1e-40")
    assert r8(at.margin_ratio) == 1
    just_past = engine.account(engine.what_if(pf, shocks=[("BTC", s - D("1e-9"))]))
    assert just_past.band == "liquidation"


STRESS = """
[account]
rules = "seed"
[assets.USDT]
balance = 1000
price = 1
haircut = 0
ask_buffer = 0.0001
[assets.BTC]
balance = 0.1
price = 50000
haircut = 0.05
ask_buffer = 0.05
[assets.USDC]
balance = -100
price = 1
haircut = 0
ask_buffer = 0
[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 0.2
entry_price = 50000
mark_price = 50000
[brackets]
BTCUSDT = [ { floor = 0, cap = {floor}, mmr = 0.004, cum = 0 }, { floor = {floor}, cap = 50000, mmr = 0.005, cum = {cum} } ]
"""


def test_stress_steps_worked_by_hand(write):
    """BTC shocked s: USDT margin balance 1,000 + 0.2 × 50,000 s = 1,000 + 10,000 s (at the ask 1.0001 once
    negative, i.e. below s = −0.1), BTC collateral 0.1 × 50,000(1 + s) × 0.95 = 4,750(1 + s), USDC −100 × 1,
    notional 10,000(1 + s): bracket 0.4 % below 12,000, else 0.5 % − 12 (cum 12 = 12,000 × 0.001); the
    maintenance is valued at USDT's ask rate 1.0001."""
    path = write(STRESS.replace("{floor}", "12000").replace("{cum}", "12"))
    r = invoke("stress", path, "--shock-range", "BTC:-50%:+50%", "--steps", "5", "--json")
    assert r.exit_code == 1, r.stderr  # a step in liquidation is beyond --fail-on red
    doc = json.loads(r.stdout, parse_float=D)
    expected = [
        # s = −0.5: USDT −4,000 × 1.0001 = −4,000.4; BTC 2,375; USDC −100 → −1,725.4; maint 5,000 × 0.004 = 20
        # × 1.0001 = 20.002; equity ≤ 0: ratio null, liquidation; USDC negative in liquidation: auto-exchange fires
        ("-0.5", "-1725.4", "20.002", None, "liquidation", True),
        # s = −0.25: USDT −1,500 × 1.0001 = −1,500.15; BTC 3,562.5; −100 → 1,962.35; 7,500 × 0.004 × 1.0001
        ("-0.25", "1962.35", "30.003", r8(div("30.003", "1962.35")), "green", False),  # 0.01528932…
        # s = 0: 1,000 + 4,750 − 100 = 5,650; 10,000 × 0.004 = 40 → 40.004
        ("0", "5650", "40.004", r8(div("40.004", "5650")), "green", False),
        # s = 0.25: 3,500 + 5,937.5 − 100 = 9,337.5; 12,500 × 0.005 − 12 = 50.5 → 50.50505
        ("0.25", "9337.5", "50.50505", r8(div("50.50505", "9337.5")), "green", False),
        # s = 0.5: 6,000 + 7,125 − 100 = 13,025; 15,000 × 0.005 − 12 = 63 → 63.0063
        ("0.5", "13025", "63.0063", r8(div("63.0063", "13025")), "green", False),
    ]
    got = [
        (s["shock"], s["equity_usd"], s["maint_margin_usd"], s["margin_ratio"], s["band"], s["autoexchange"])
        for s in doc["steps"]
    ]
    assert got == [(D(a), D(b), D(c), d, e, f) for a, b, c, d, e, f in expected]
    assert [x[3] for x in expected[1:]] == [D("0.01528932"), D("0.00708035"), D("0.00540884"), D("0.00483734")]
    # the exact root, below s = −0.1 (USDT at the ask) and in the 0.4 % bracket (notional < 12,000):
    # 1.0001(1,000 + 10,000 s) + 4,750(1 + s) − 100 − 40.004(1 + s) = 5,610.096 + 14,710.996 s = 0
    assert doc["liquidation_shock"] == r8(div("-5610.096", "14710.996")) == D("-0.38135392")
    assert doc["worst_band"] == "liquidation"


def test_liquidation_shock_from_a_notional_exactly_on_a_bracket_floor(write):
    """The same account with the floor at 10,000, where the notional is now: any fall puts it in the 0.4 %
    bracket, so the root is the one above (5,610.096 / 14,710.996), not the one of the 0.5 % bracket
    extended below its floor (1.0001 × (50(1 + s) − 10): 5,610.096 + 14,700.995 s = 0, −0.38161335)."""
    path = write(STRESS.replace("{floor}", "10000").replace("{cum}", "10"))
    doc = json.loads(invoke("risk", path, "--json").stdout, parse_float=D)
    assert doc["maint_margin_usd"] == D("40.004")  # on the floor: 10,000 × 0.005 − 10 = 40 (= 10,000 × 0.004)
    assert doc["liquidation_shocks"]["BTC"]["down"] == r8(div("-5610.096", "14710.996"))


def test_single_asset_pool_shocks(load):
    r = engine.risk(load_portfolio(sample("single-isolated.toml")))
    # USDT pool: 800 + 0.2·60,000·s − 0.004·12,000(1 + s) = 0 → s = −752 / 11,952
    assert r.liquidation_shocks["BTC"].down == div(-752, 11952)
    # ETH isolated: 250 − 9,000 s − 45(1 + s) = 0 → s = 205 / 9,045
    assert r.liquidation_shocks["ETH"].up == div(205, 9045)


def test_compare_layouts():
    layouts = engine.compare(load_portfolio(sample("single-isolated.toml")))
    assert [x.layout for x in layouts] == ["isolated", "single-asset cross", "multi-asset"]
    iso, cross, multi = layouts
    # isolated: BTC gets its initial margin 600 → 600 − 400 = 200; ETH keeps 400 − 150 = 250; the USDT left in
    # the cross wallet (1,200 − 600 = 600) and the idle 0.1 BTC (6,000) are pools too: 200 + 250 + 600 + 6,000
    assert iso.equity_usd == D(7050)
    # single-asset cross: the ETH wallet back in USDT: 1,600 − 550 = 1,050, plus the idle BTC 6,000
    assert cross.equity_usd == D(7050) and cross.margin_ratio == div(93, 1050)
    assert multi.equity_usd == D("6749.895")
    # BTC long in the cross pool: (1,600 − 45 − 150 + 0 − 0.2 × 62,000) / (0.2 × 0.004 − 0.2) = 55,195.78
    assert cross.liquidation_prices[0].liquidation_price == div(-10995, "-0.1992")


# ------------------------------------------------------------------------------------------ command line


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_shock_option_and_its_echo():
    r = invoke("--shock", "BTC=-20%", "risk", sample("hedged.toml"), "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0
    assert doc["positions"][0]["mark_price"] == 48000
    assert any(a.startswith("what-if: BTC shocked -20%") for a in doc["assumptions"])


def test_price_option_on_every_command():
    for command in ("equity", "risk", "ltv", "autoexchange", "switch-check"):
        r = invoke("--price", "BTC=50000", command, sample("hedged.toml"), "--json")
        assert r.exit_code == 0, r.output
        assert "what-if: BTC index price 50000 instead of 60000 (--price)" in json.loads(r.stdout)["assumptions"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shock", "BTC=-20"], "must be a percentage"),
        (["--shock", "BTC=-100%"], "zero or below"),
        (["--shock", "BTC"], "is not ASSET=±N%"),
        (["--price", "BTC=abc"], "expected a number"),
        (["--price", "BTC=-5"], "must be greater than 0"),
    ],
)
def test_bad_what_if_options(args, message):
    r = invoke(*args, "risk", sample("hedged.toml"))
    assert r.exit_code == 2 and r.stdout == "" and message in r.stderr


def test_what_if_on_an_unknown_asset():
    r = invoke("--price", "XRP=1", "risk", sample("hedged.toml"))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == (
        f"mamcli: error: {sample('hedged.toml')}: --price XRP: not an asset of this portfolio (assets: USDT, BTC)\n"
    )
    r = invoke("--shock", "SOL=-5%", "risk", sample("hedged.toml"))
    assert r.exit_code == 2 and "--shock SOL: neither an asset nor the base of a position" in r.stderr


def test_stress_command_json_and_table():
    r = invoke("stress", sample("hedged.toml"), "--shock-range", "BTC:-60%:+20%", "--steps", "9", "--json")
    doc = json.loads(r.stdout, parse_float=D)
    assert r.exit_code == 1  # −60 % is past liquidation
    assert len(doc["steps"]) == 9 and doc["steps"][0]["shock"] == D("-0.6")
    assert set(doc["steps"][0]) >= {"shock", "equity_usd", "maint_margin_usd", "margin_ratio", "band", "autoexchange"}
    assert D("-0.6") < doc["liquidation_shock"] < D("-0.5")
    table = invoke("stress", sample("hedged.toml"), "--shock-range", "BTC:-60%:+20%", "--steps", "9")
    assert "liquidation at BTC shock -56.6041 % (exact)" in table.stdout
    assert "█" * 40 + " LIQUIDATION" in table.stdout
    ok = invoke("stress", sample("hedged.toml"), "--shock-range", "BTC:-40%:+20%", "--steps", "3", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["liquidation_shock"] is None


@pytest.mark.parametrize("value", ["BTC:-50%", "BTC:+10%:-10%", ":-1%:+1%", "BTC:-50:+50"])
def test_stress_bad_range(value):
    r = invoke("stress", sample("hedged.toml"), "--shock-range", value)
    assert r.exit_code == 2 and r.stdout == ""


def test_risk_compare_table_and_json():
    r = invoke("risk", sample("single-isolated.toml"), "--compare")
    assert "isolated" in r.stdout and "single-asset cross" in r.stdout and "liq. BTCUSDT long" in r.stdout
    doc = json.loads(invoke("risk", sample("single-isolated.toml"), "--compare", "--json").stdout)
    assert [x["layout"] for x in doc["compare"]] == ["isolated", "single-asset cross", "multi-asset"]


# ------------------------------------------------------------------------------------ a quadratic root by hand

ETHBTC = """
[account]
rules = "seed"
[assets.USDT]
balance = -20000
price = 1
haircut = 0
ask_buffer = 0
[assets.BTC]
balance = 0.5
price = 50000
haircut = 0.05
ask_buffer = 0.05
[[positions]]
symbol = "ETHBTC"
side = "{side}"
quantity = 20
entry_price = {entry}
mark_price = 0.05
maint_margin_rate = 0.01
"""


def quadratic_roots(c2, c1, c0):
    """Both roots of c2·s² + c1·s + c0 = 0 by the school formula, at 60 digits (the test's own arithmetic)."""
    with localcontext() as ctx:
        ctx.prec = 60
        disc = D(c1) * c1 - 4 * D(c2) * c0
        assert disc > 0
        root = disc.sqrt()
        return sorted([(-c1 - root) / (2 * c2), (-c1 + root) / (2 * c2)])


def risk_json(path):
    r = invoke("risk", path, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout, parse_float=D)


def test_quadratic_liquidation_shock_of_an_ethbtc_long_margined_in_btc(write):
    """The margin asset itself moves: ETHBTC (base ETH, margin BTC) under ETH and BTC shocked together.

    Shock s of every non-stable asset: BTC's index 50,000(1 + s) and ETHBTC's mark 0.05(1 + s).
    BTC margin balance: wallet 0.5 + uPnL 20 × (0.05(1 + s) − 0.04) = 0.7 + s (positive for s > −0.7: bid)
    BTC collateral: (0.7 + s) × 50,000(1 + s) × 0.95 = 47,500 (0.7 + 1.7 s + s²)
    maintenance: 20 × 0.05(1 + s) × 0.01 = 0.01(1 + s) BTC, at the ask 50,000(1 + s) × 1.05 = 525 (1 + s)²
    USDT: −20,000 at the ask rate 1 (ask buffer 0)
    buffer B(s) = −20,000 + 47,500(0.7 + 1.7 s + s²) − 525(1 + 2 s + s²)
      c0 = −20,000 + 33,250 − 525 = 12,725 (= equity 13,250 − maintenance 525 at s = 0)
      c1 = 80,750 − 1,050 = 79,700
      c2 = 47,500 − 525 = 46,975
    roots (−79,700 ± √(79,700² − 4 × 46,975 × 12,725)) / (2 × 46,975) = (−79,700 ± √3,961,062,500) / 93,950
      √3,961,062,500 = 62,936.9883…: s = −0.178424… (down), and −1.5184… (a price below 0: no answer)
    Up: B rises for s > −c1 / 2c2 = −0.848: no liquidation.
    """
    doc = risk_json(write(ETHBTC.format(side="long", entry="0.04")))
    assert (doc["equity_usd"], doc["maint_margin_usd"]) == (D(13250), D(525))  # 0.7 × 47,500 − 20,000; 0.01 × 52,500
    assert 79700**2 - 4 * 46975 * 12725 == 3961062500
    low, high = quadratic_roots(46975, 79700, 12725)
    assert low < -1 < high < 0
    shocks = doc["liquidation_shocks"]
    assert shocks["non-stable"] == {"down": r8(high), "up": None}
    assert r8(high) == D("-0.17842499")  # (−79,700 + 62,936.98833…) / 93,950
    # the linear cases beside it, for contrast:
    # BTC alone (ETHBTC's mark stays): −20,000 + 0.7 × 47,500(1 + s) − 525(1 + s) = 0 → 1 + s = 20,000 / 32,725
    # ETH alone (BTC's price stays): −20,000 + 47,500(0.7 + s) − 525(1 + s) = 12,725 + 46,975 s = 0
    assert shocks["BTC"] == {"down": r8(div(20000, 32725) - 1), "up": None}
    assert shocks["ETH"] == {"down": r8(div(-12725, 46975)), "up": None}
    # the position's liquidation price moves ETHBTC and ETH only: the ETH-alone root, 0.05 × (1 − 12,725 / 46,975)
    assert doc["positions"][0]["liquidation_price"] == r8(D("0.05") * (1 + div(-12725, 46975)))


def test_quadratic_liquidation_shocks_of_an_ethbtc_short_both_ways(write):
    """The same account short (entry 0.06): both roots of a concave quadratic are answers.

    BTC margin balance: 0.5 − 20 × (0.05(1 + s) − 0.06) = 0.7 − s (positive for s < 0.7: bid)
    B(s) = −20,000 + 47,500 (0.7 − s)(1 + s) − 525 (1 + s)² = −20,000 + 47,500(0.7 − 0.3 s − s²) − 525(1 + 2 s + s²)
      c0 = 12,725; c1 = −14,250 − 1,050 = −15,300; c2 = −47,500 − 525 = −48,025
    disc = 15,300² + 4 × 48,025 × 12,725 = 234,090,000 + 2,444,472,500 = 2,678,562,500 (√ = 51,755.79…)
    roots (15,300 ∓ 51,755.79…) / (−96,050): s = 0.379540… (up; margin balance 0.32 > 0 there) and
    s = −0.698124… (down; 1 + s > 0 and the margin balance 1.398 > 0 there).
    With the discriminant's sign flipped (234,090,000 − 2,444,472,500 < 0) there would be no root at all.
    """
    doc = risk_json(write(ETHBTC.format(side="short", entry="0.06")))
    assert (doc["equity_usd"], doc["maint_margin_usd"]) == (D(13250), D(525))
    assert 15300**2 + 4 * 48025 * 12725 == 2678562500
    down, up = quadratic_roots(-48025, -15300, 12725)
    assert -1 < down < -D("0.69") and D("0.37") < up < D("0.7")
    assert doc["liquidation_shocks"]["non-stable"] == {"down": r8(down), "up": r8(up)}
    assert (r8(down), r8(up)) == (D("-0.69812421"), D("0.37954014"))
    # ETH alone: −20,000 + 47,500(0.7 − s) − 525(1 + s) = 12,725 − 48,025 s = 0 → s = 12,725 / 48,025, up only
    assert doc["liquidation_shocks"]["ETH"] == {"down": None, "up": r8(div(12725, 48025))}
