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
