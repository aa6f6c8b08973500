"""The valuation module and the solver's use of it: cases worked out by hand (SPEC §1, §6, §10)."""

from decimal import Decimal as D

import pytest
from conftest import div

from mamcli import engine, valuation
from mamcli.model import Bracket, bracket_index

FLOOR_CASE = """
[account]
mode = "{mode}"
rules = "seed"
tier = "general"
open_orders = 0

[assets.USDT]
balance = 10000
price = 1
haircut = 0
ask_buffer = 0

[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 1
entry_price = 50000
mark_price = 50000
leverage = 20

[brackets]
BTCUSDT = [ {{ floor = 0, cap = 50000, mmr = 0.004, cum = 0 }},
            {{ floor = 50000, cap = 250000, mmr = 0.005, cum = 50 }} ]
"""


@pytest.mark.parametrize("mode", ["single-asset", "multi-asset"])
def test_liquidation_price_of_a_notional_on_a_bracket_floor(load, mode):
    # The notional 1 × 50,000 sits on the floor of the 0.5 % bracket (SPEC §1: a floor belongs to the upper
    # bracket), so today's maintenance is 50,000 × 0.005 − 50 = 200.  Moving down, the notional leaves that
    # bracket at once: the liquidation price is found in the 0.4 % bracket (cum 0).  Binance's formula,
    # LP = (WB − TMM + UPNL + cum − side·qty·EP) / (qty·MMR − side·qty)
    #    = (10,000 − 0 + 0 + 0 − 50,000) / (0.004 − 1) = −40,000 / −0.996 = 40,160.6425702811…
    # With the upper bracket kept (the old mistake): (10,000 + 50 − 50,000) / (0.005 − 1) = 40,150.75…
    # In multi-asset mode with USDT at price 1 and no haircut the USD buffer is the same line.
    r = engine.risk(load(FLOOR_CASE.format(mode=mode)))
    pos = r.positions[0]
    assert pos.maint_margin == D(200)
    lp = pos.liquidation_price
    assert abs(lp - div(40000, D("0.996"))) < D("1e-40")
    assert str(lp)[:11] == "40160.64257"


def test_bracket_index_puts_a_floor_in_the_upper_bracket():
    table = (
        Bracket(D(0), D(50000), D("0.004"), D(0)),
        Bracket(D(50000), D(250000), D("0.005"), D(50)),
        Bracket(D(250000), None, D("0.01"), D(1300)),
    )
    assert bracket_index(table, D("49999.99")) == 0
    assert bracket_index(table, D(50000)) == 1  # on the floor: the upper bracket
    assert bracket_index(table, D(250000)) == 2
    assert bracket_index(table, D(10) ** 12) == 2  # past the last floor: the last bracket


def test_pools_name_their_positions(load):
    # Two USDT cross positions and one isolated BTC… position: the cross pool carries positions 0 and 2,
    # the isolated pool position 1, whatever order the file lists them in.
    pf = load("""
        [account]
        mode = "single-asset"
        rules = "seed"
        [assets.USDT]
        balance = 1000
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.01
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.004
        [[positions]]
        symbol = "ETHUSDT"
        side = "short"
        quantity = 1
        entry_price = 3000
        mark_price = 3000
        maint_margin_rate = 0.005
        margin_type = "isolated"
        isolated_wallet = 150
        [[positions]]
        symbol = "SOLUSDT"
        side = "long"
        quantity = 10
        entry_price = 100
        mark_price = 90
        maint_margin_rate = 0.01
    """)
    pools = valuation.account(pf).pools
    assert [(p.name, p.positions) for p in pools] == [("USDT", (0, 2)), ("ETHUSDT short isolated", (1,))]
    cross = pools[0]
    # equity 1,000 + uPnL (0 + 10 × (90 − 100) = −100) = 900; maintenance 600 × 0.004 + 900 × 0.01 = 11.4
    assert cross.equity == D(900) and cross.maint_margin == D("11.4")
    assert cross.buffer == D("888.6")


CREDITS = """
[account]
mode = "multi-asset"
credits = true

[assets.BNFCR]
balance = 2000
haircut = 0
ask_buffer = 0

[assets.BTC]
balance = 0.1
price = 50000

[assets.ETH]
balance = 1
price = 2000

[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 0.2
entry_price = 50000
mark_price = 50000
maint_margin_rate = 0.004
"""


def test_credits_mode_books_positions_in_bnfcr_and_never_shocks_it(load):
    # Credits mode (SPEC §10): BTCUSDT's PnL and margin are booked in BNFCR (price 1 by default, no haircut
    # here); BNFCR is stable, so it is not shocked and not in `non-stable`.  BTC and ETH keep the binance
    # profile's 5 % haircut (ask buffer = haircut).  Under a shock s of the assets named:
    #   BNFCR margin balance 2,000 + 0.2 × 50,000 s = 2,000 + 10,000 s (rate 1 either side of 0)
    #   BTC 0.1 × 50,000 (1 + s) × 0.95 = 4,750 (1 + s);  ETH 1 × 2,000 × 0.95 = 1,900, (1 + s) when shocked
    #   maintenance 0.2 × 50,000 (1 + s) × 0.004 × 1 = 40 (1 + s)
    # BTC alone: 6,710 + 1,900 + (10,000 + 4,750 − 40) s = 8,610 + 14,710 s = 0 → s = −8,610 / 14,710
    # BTC and ETH: 8,610 + 16,610 s = 0 → s = −8,610 / 16,610;  ETH alone moves no position: 8,610 + 1,900 s
    # reaches 0 only at s = −4.53, below −100 %: none.
    pf = load(CREDITS)
    assert pf.credits and pf.positions[0].margin_asset == "BNFCR" and pf.assets["BNFCR"].price == 1
    r = engine.risk(pf)
    assert r.equity_usd == D(8650) and r.maint_margin_usd == D(40)  # 2,000 + 4,750 + 1,900
    shocks = r.liquidation_shocks
    assert set(shocks) == {"BTC", "ETH", "non-stable"}  # never BNFCR
    assert abs(shocks["BTC"].down - div(-8610, 14710)) < D("1e-40")
    assert abs(shocks["non-stable"].down - div(-8610, 16610)) < D("1e-40")
    assert shocks["ETH"].down is None
    assert any("booked in BNFCR" in a for a in r.assumptions)


def test_credits_mode_needs_the_credits_asset(write):
    from mamcli.model import InputError
    from mamcli.portfolio import load_portfolio

    path = write(CREDITS.replace("[assets.BNFCR]\nbalance = 2000\nhaircut = 0\nask_buffer = 0\n", ""))
    with pytest.raises(InputError) as e:
        load_portfolio(path)
    assert "account.credits: Credits mode books every position in BNFCR; add [assets.BNFCR]" in str(e.value)


def test_an_account_without_positions_has_no_liquidation_shock():
    # samples/idle-ltv.toml holds collateral and a negative balance but no position: no maintenance is due, so
    # no shock can liquidate it (SPEC §9: it used to show a BTC shock of −0.14 %)
    from conftest import sample

    from mamcli.portfolio import load_portfolio

    r = engine.risk(load_portfolio(sample("idle-ltv.toml")))
    assert r.liquidation_shocks and all(s.down is None and s.up is None for s in r.liquidation_shocks.values())


FEES = """
[account]
mode = "{mode}"
tier = "regular"

[assets.USDT]
balance = 10000
price = 1
haircut = 0
ask_buffer = 0.0001

[assets.ETH]
balance = -1
price = 3000

[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 0.1
entry_price = 60000
mark_price = 60000
maint_margin_rate = 0.004

[[positions]]
symbol = "ETHUSDT"
side = "short"
quantity = 2
entry_price = 3000
mark_price = 3000
maint_margin_rate = 0.005

[exchange_info]
thresholds = {{ USDT = -10000 }}
liquidation_fee = {{ ETHUSDT = 0.015 }}
"""


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # multi-asset: margins at USDT's ask rate 1.0001: (0.1 × 60,000 × 0.0125 + 2 × 3,000 × 0.015) × 1.0001
        # = (75 + 90) × 1.0001 = 165.0165
        ("multi-asset", D("165.0165")),
        # single-asset: at USDT's index price 1: 75 + 90 = 165
        ("single-asset", D(165)),
    ],
)
def test_clearance_fee_of_two_positions_with_different_fees(load, mode, expected):
    r = engine.risk(load(FEES.format(mode=mode)))
    # BTCUSDT takes the binance profile's 0.0125; ETHUSDT the file's exchangeInfo 0.015
    assert [p.liquidation_fee for p in r.positions] == [D("0.0125"), D("0.015")]
    assert r.clearance_fee_usd == expected


def test_threshold_headroom_in_the_thresholds_unit(load):
    # tier regular of the binance profile: ETH −5 (asset units); USDT −10,000 from exchangeInfo (the file's
    # [exchange_info] overrides the profile's −5,000).  Headroom = how much further the balance may fall:
    # USDT 10,000 − (−10,000) = 20,000 USDT; ETH −1 − (−5) = 4 ETH.
    r = engine.autoexchange(load(FEES.format(mode="multi-asset")))
    rows = {t.asset: t for t in r.thresholds}
    assert (rows["USDT"].threshold, rows["USDT"].unit, rows["USDT"].headroom, rows["USDT"].source) == (
        D(-10000),
        "USDT",
        D(20000),
        "exchangeInfo",
    )
    assert (rows["ETH"].threshold, rows["ETH"].unit, rows["ETH"].headroom, rows["ETH"].source) == (
        D(-5),
        "ETH",
        D(4),
        "rules",
    )
    assert not r.triggered


def test_threshold_headroom_in_usd_under_the_seed_rules(load):
    # seed tier general: −10,000 USD at index for every asset.  USDC −9,800 at 1.0 → 9,800 − … headroom
    # −9,800 − (−10,000) = 200 USD; at −10,000 exactly the headroom is 0 and the trigger fires.
    text = """
        [account]
        rules = "seed"
        tier = "general"
        [assets.USDC]
        balance = {usdc}
        price = 1
        [assets.BTC]
        balance = 1
        price = 60000
    """
    r = engine.autoexchange(load(text.format(usdc=-9800)))
    usdc = next(t for t in r.thresholds if t.asset == "USDC")
    assert (usdc.unit, usdc.headroom, r.triggered) == ("USD", D(200), False)
    r = engine.autoexchange(load(text.format(usdc=-10000)))
    usdc = next(t for t in r.thresholds if t.asset == "USDC")
    assert (usdc.headroom, r.triggered) == (D(0), True)


def test_the_concave_shortcut_never_changes_an_answer(monkeypatch):
    # liquidation._never skips the breakpoint walk only where it proves no root (a concave buffer); every
    # answer on every sample must be the same with the shortcut turned off.
    import glob

    from mamcli import liquidation
    from mamcli.portfolio import load_portfolio

    def answers():
        out = []
        for path in sorted(glob.glob(str(__import__("conftest").SAMPLES / "*.toml"))):
            r = engine.risk(load_portfolio(path))
            out.append(([p.liquidation_price for p in r.positions], r.liquidation_shocks))
        return out

    fast = answers()
    monkeypatch.setattr(liquidation, "_never", lambda base, terms, direction: False)
    assert answers() == fast


def test_a_single_asset_import_agrees_with_binance_like_with_like(tmp_path):
    # A hand-made v2 account in single-asset mode: USDT wallet 1,000; BTCUSDT long 0.010 @ 60,000, notional 610
    # (mark = 610 / 0.010 = 61,000), leverage 10.  By hand: uPnL 0.01 × 1,000 = 10; margin balance 1,010;
    # maintenance 610 × 0.004 − 0 = 2.44; initial 610 / 10 = 61; available 1,010 − 61 = 949: the account's
    # totalMarginBalance, totalMaintMargin and availableBalance (USDT's own, in this mode).
    from click.testing import CliRunner

    from mamcli.cli import main

    pay = __import__("conftest").ROOT / "tests" / "payloads"
    out = tmp_path / "p.toml"
    args = ["import", "--account", str(pay / "account_v2_single.json"), "--index", str(pay / "assetIndex.json")]
    r = CliRunner().invoke(main, [*args, "--brackets", str(pay / "leverageBracket.json"), "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    assert "totalMarginBalance 1010.00000000 agrees" in r.stderr
    assert "availableBalance 949.00000000 agrees" in r.stderr
    assert "totalMaintMargin 2.44000000 agrees" in r.stderr
    assert "E-" not in r.stderr  # never an exponent


def test_maintenance_is_never_negative(load, write):
    from mamcli.model import InputError
    from mamcli.portfolio import load_portfolio

    text = """
        [account]
        mode = "multi-asset"
        [assets.USDT]
        balance = 100
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.005
        maint_amount = {amount}
    """
    # 0.1 × 60,000 × 0.005 = 30 < 50: the file asks for a negative requirement, refused with the figures
    with pytest.raises(InputError) as e:
        load_portfolio(write(text.format(amount=50)))
    assert "maint_amount: BTCUSDT: 50 is more than notional times rate, 6,000.00 x 0.005 = 30" in str(e.value)
    # amount 20 loads (30 − 20 = 10); a 90 % fall takes the notional to 600: 600 × 0.005 − 20 = −17 → 0
    pf = engine.what_if(load(text.format(amount=20)), shocks=[("BTC", D("-0.9"))])
    assert pf.positions[0].maint_margin == 0
    assert engine.risk(pf).maint_margin_usd == 0


@pytest.mark.parametrize("mode", ["single-asset", "multi-asset"])
def test_an_inconsistent_table_on_a_floor_keeps_its_jump(load, mode):
    # The floor case above with cum 0 in the upper bracket (inconsistent: it should be 50).  Today, on the
    # floor: 50,000 × 0.005 = 250; a hair lower, the 0.4 % bracket: 200, so the buffer jumps up by 50 and the
    # answer is the lower bracket's own line, Binance's formula: (10,000 − 50,000) / (0.004 − 1) = 40,160.64…
    text = FLOOR_CASE.format(mode=mode).replace("mmr = 0.005, cum = 50", "mmr = 0.005, cum = 0")
    r = engine.risk(load(text))
    assert r.positions[0].maint_margin == D(250)
    assert abs(r.positions[0].liquidation_price - div(40000, D("0.996"))) < D("1e-40")


def test_single_asset_shocks_are_zero_once_a_pool_is_liquidated(load):
    # USDT cross pool healthy; an isolated ETHUSDT short whose pool is under water (equity 10 + (−1) × 1 ×
    # (3,100 − 3,000) = −90 while 3,100 × 0.005 = 15.5 is due): the account's band is liquidation already, so
    # every shock that "brings the ratio to 100 %" is 0.
    pf = load("""
        [account]
        mode = "single-asset"
        rules = "seed"
        [assets.USDT]
        balance = 10000
        price = 1
        [assets.BTC]
        balance = 0.1
        price = 60000
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.1
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.004
        [[positions]]
        symbol = "ETHUSDT"
        side = "short"
        quantity = 1
        entry_price = 3000
        mark_price = 3100
        maint_margin_rate = 0.005
        margin_type = "isolated"
        isolated_wallet = 10
    """)
    r = engine.risk(pf)
    assert r.band == "liquidation"
    assert all(s.down == 0 and s.up == 0 for s in r.liquidation_shocks.values())


def test_rules_show_what_is_data_and_how_old():
    import json

    from click.testing import CliRunner

    from mamcli.cli import main

    r = CliRunner().invoke(main, ["rules", "binance", "--json"])
    profile = json.loads(r.stdout)["profiles"][0]
    assert profile["stable"] == ["USDT", "USDC", "FDUSD", "BFUSD", "LDUSDT", "RWUSD", "USD1", "BNFCR"]
    assert profile["brackets"]["as_of"] == "2024-10-24" and "BTCUSDT" in profile["brackets"]["symbols"]
    assert profile["default_liquidation_fee"] == 0.0125
    table = CliRunner().invoke(main, ["rules", "binance"], env={"COLUMNS": "80"}).stdout
    assert "bracket snapshot as of 2024-10-24" in table and "stand-ins" in table
