"""Output rounding is half-up (SPEC §4), shown on ties where half-up and half-even part ways.

A tie only tells the two modes apart when the digit kept is even: 2.000000005 is 2.00000001 half-up but
2.00000000 half-even (the 8th decimal, 0, is even); 2.000000015 would round to …02 either way.  Every
expected figure below is written out by hand.
"""

import json
from decimal import Decimal as D

from click.testing import CliRunner
from conftest import r8

from mamcli.cli import main

TIES = """
[account]
rules = "seed"
[assets.USDT]
balance = 2.000000005
price = 1
haircut = 0
ask_buffer = 0
[assets.BTC]
balance = 0.00000001
price = 62500.5
haircut = 0.05
[assets.USDC]
balance = -0.000000025
price = 1
haircut = 0
ask_buffer = 0
"""


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert r.stderr == ""
    return r.exit_code, r.stdout


def test_json_ties_round_half_up_away_from_zero(write):
    code, out = run("equity", write(TIES), "--json")
    assert code == 0
    doc = json.loads(out, parse_float=D)
    usdt, btc, usdc = doc["assets"]
    # USDT: 2.000000005 is a tie at the 9th decimal, the 8th (0) even: half-up 2.00000001, half-even 2
    assert usdt["wallet_balance"] == D("2.00000001")
    assert usdt["margin_balance"] == D("2.00000001")
    assert usdt["collateral_usd"] == D("2.00000001")  # × bid rate 1 × (1 − 0)
    # BTC, a computed tie: 0.00000001 × 62,500.5 = 0.000625005 → 0.00062501 (half-even: 0.00062500)
    assert btc["value_usd"] == D("0.00062501")
    # not a tie: 0.00000001 × 62,500.5 × 0.95 = 0.00059375475 → 0.00059375 in both modes
    assert btc["collateral_usd"] == D("0.00059375")
    # USDC, a negative tie: −0.000000025 → −0.00000003, away from zero (half-even: −0.00000002)
    assert usdc["wallet_balance"] == D("-0.00000003") and usdc["value_usd"] == D("-0.00000003")
    # the total: 2.000000005 + 0.000625005 − 0.000000025 = 2.000624985 → 2.00062499 (half-even: …98)
    assert doc["value_usd"] == D("2.00062499")
    # and the raw JSON text carries no float artefacts and no exponent
    assert '"wallet_balance": 2.00000001,' in out and '"value_usd": 0.00062501,' in out


def test_table_ties_round_half_up(write):
    text = TIES.replace("2.000000005", "1.125")
    code, out = run("equity", write(text))
    assert code == 0
    usdt = next(line for line in out.splitlines() if line.startswith("USDT"))
    # USD columns have 2 places: 1.125 → 1.13 half-up (half-even would print 1.12)
    assert usdt.split()[-2:] == ["1.13", "1.13"]


def test_the_test_helper_rounds_half_up_by_itself():
    # r8 in conftest is an independent integer implementation; pin its mode so it cannot drift either
    assert r8("0.000000025") == D("0.00000003") and r8("-0.000000025") == D("-0.00000003")
    assert r8("1.000000005") == D("1.00000001") and r8("1.000000004999") == D(1)
    assert r8("0.123456785") == D("0.12345679") and r8(D("1E+3")) == 1000
