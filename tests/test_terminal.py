"""Made for a person at a terminal (SPEC §12): tables that fit COLUMNS, the distance to liquidation, folded
assumptions, plausibility warnings, errors that say the fix, --fail-on never, file-name completion."""

import json
import re
import unicodedata
from decimal import Decimal

import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES, div, r8, sample

from mamcli.cli import main

SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.toml"))
STRESSED = {"single-isolated.toml": "ETH"}  # the asset each sample's stress sweeps (BTC unless named)


def command_lines(name: str) -> list[list[str]]:
    """Every table of every command on one sample."""
    path = sample(name)
    asset = STRESSED.get(name, "BTC")
    return [
        ["equity", path],
        ["risk", path],
        ["risk", path, "--compare"],
        ["risk", path, "-v"],
        ["ltv", path],
        ["autoexchange", path],
        ["autoexchange", path, "--what-if"],
        ["switch-check", path],
        ["switch-check", path, "--verbose"],
        ["stress", path, "--shock-range", f"{asset}:-60%:+40%", "--steps", "11"],
    ]


CASES = [(name, args) for name in SAMPLE_NAMES for args in command_lines(name)]
IDS = [f"{name}-{' '.join(a for a in args[1:] if not a.startswith(str(ROOT)))}" for name, args in CASES]


def run(*args: str, columns: str | None = None, input: str | None = None):
    env = {"NO_COLOR": "1", "COLUMNS": columns, "MAMCLI_PORTFOLIO": None}
    return CliRunner().invoke(main, list(args), env=env, input=input)


def display_width(line: str) -> int:
    """Columns a line takes: colour codes none, East Asian wide and full-width characters two, combining none."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", line)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# ------------------------------------------------------------------------------------------ width


@pytest.mark.parametrize("name, args", CASES, ids=IDS)
def test_every_table_fits_80_columns(name, args):
    r = run(*args, columns="80")
    assert r.exit_code in (0, 1), r.output
    widest = max(display_width(line) for line in r.stdout.splitlines())
    assert widest <= 80, r.stdout


@pytest.mark.parametrize("name, args", CASES, ids=IDS)
def test_200_columns_and_wide_give_the_full_table(name, args):
    full = run(*args, columns="200")
    assert full.exit_code in (0, 1), full.output
    assert run(*args, "--wide", columns="80").stdout == full.stdout  # --wide: every column at any width
    assert run(*args, columns=None).stdout == full.stdout  # not a terminal, no COLUMNS: the full table too
    command = args[0]
    if command == "risk" and "symbol " in full.stdout:
        for head in ("symbol", "side", "margin", "qty", "entry", "mark", "liq. price", "distance", "notional"):
            assert head in full.stdout
        assert re.search(r"uPnL +lev\. +MMR +maint +maint USD", full.stdout)
    if command == "equity":
        assert re.search(r"asset +wallet +uPnL +margin balance +price +rate +value USD +collateral USD", full.stdout)
    if command == "stress":
        assert re.search(r"equity USD +maint USD +ratio +band +auto-exchange +margin ratio \(bar full", full.stdout)


def test_the_narrow_positions_table_keeps_what_matters():
    out = run("risk", sample("hedged.toml"), columns="80").stdout
    table = out[out.index("symbol ") :].split("\n\n")[0]
    head = table.splitlines()[0].split()
    assert head[:2] == ["symbol", "side"] and {"qty", "mark", "price", "distance"} <= set(head)
    assert "maint" not in head and "MMR" not in head  # left out at 80 columns
    # hedged.toml: BTCUSDT long 0.1 at mark 60,000, liquidation 26,037.55 (3,830.383 / 0.14710996), distance
    # (26,037.55 − 60,000) / 60,000 = −56.60 %
    assert re.search(r"BTCUSDT +long +USDT +0\.1 +60,000 +26,037\.55 +-56\.60 %", table)
    assert re.search(r"ETHUSDT +short +USDT +2 +3,000 +5,484\.71 +\+82\.82 %", table)


def test_narrow_stress_bar_fits_and_names_the_band():
    out = run("stress", sample("hedged.toml"), "--shock-range", "BTC:-60%:+20%", "--steps", "9", columns="80").stdout
    assert "ratio bar, full at 100 %" in out and "LIQUIDATION" in out
    assert "maint USD" not in out  # the USD columns give way before the bar
    assert max(display_width(line) for line in out.splitlines()) <= 80


def test_a_long_header_wraps_between_its_parts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "a-rather-long-portfolio-file-name-" + "x" * 20 + ".toml"
    (tmp_path / name).write_text((SAMPLES / "hedged.toml").read_text())
    out = run("ltv", name, columns="80").stdout.splitlines()
    assert out[0] == f"mamcli ltv · {name}"  # 72 columns; " · multi-asset" would make 86
    assert out[1] == "  · multi-asset · rules binance · tier regular"
    assert all(display_width(line) <= 80 for line in out)


def test_display_width_counts_terminal_columns():
    from mamcli.render import width_of

    assert width_of("\x1b[31mRED\x1b[0m") == 3
    assert width_of("漢字") == 4 and width_of("█▏—·") == 4 and width_of("e\u0301") == 1  # e + combining acute


# ------------------------------------------------------------------------------------------ liquidation distance


def test_liquidation_distance_in_json_by_hand():
    doc = json.loads(run("risk", sample("hedged.toml"), "--json").stdout, parse_float=Decimal)
    btc, eth = doc["positions"]
    # liquidation prices worked out by hand in test_liquidation.py: 3,830.383 / 0.14710996 and 11,041.8191 / 2.0132013
    assert btc["liquidation_distance"] == r8(div(div("3830.383", "0.14710996") - 60000, 60000))  # -0.56604083
    assert eth["liquidation_distance"] == r8(div(div("11041.8191", "2.0132013") - 3000, 3000))  # +0.82823564
    assert btc["liquidation_distance"] < 0 < eth["liquidation_distance"]


def test_no_liquidation_price_no_distance(write):
    # 1,000,000 USDT against a 0.001 BTC long: even at a BTC price of 0 the loss is 60 USDT, and a rise only
    # gains: no positive price liquidates
    path = write(
        """
        [assets.USDT]
        balance = 1000000
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 0.001
        entry_price = 60000
        mark_price = 60000
        maint_margin_rate = 0.004
        leverage = 10
        """
    )
    doc = json.loads(run("risk", path, "--json").stdout)
    assert doc["positions"][0]["liquidation_price"] is None and doc["positions"][0]["liquidation_distance"] is None
    out = run("risk", path, columns="80").stdout
    assert "no position has a liquidation price" in out
    assert re.search(r"BTCUSDT +long +USDT +0\.001 +60,000 +— +—", out)


def test_the_nearest_liquidation_comes_first():
    assert run("risk", sample("single-isolated.toml")).stdout.splitlines()[3].startswith("band ")  # cron's line 4
    out = run("risk", sample("single-isolated.toml"), columns="80").stdout.splitlines()
    # ETHUSDT short: 3,067.99 against a mark of 3,000 is +2.27 %, nearer than BTCUSDT long's -6.29 %
    assert "nearest liquidation: ETHUSDT short at 3,067.99, +2.27 % from its mark" in out


def test_colour_marks_what_matters():
    from mamcli import engine
    from mamcli.portfolio import load_portfolio
    from mamcli.render import Screen, render

    result = engine.risk(load_portfolio(sample("red-band.toml")))
    text = render(result, False, screen=Screen(colour=True, width=80))
    assert "\x1b[1m87.22 %\x1b[0m" in text and "\x1b[31mRED\x1b[0m" in text
    assert all(display_width(line) <= 80 for line in text.splitlines())


# ------------------------------------------------------------------------------------------ assumptions


def test_assumptions_fold_to_one_line_and_v_lists_them():
    doc = json.loads(run("risk", sample("hedged.toml"), "--json", "-v").stdout)
    notes = doc["assumptions"]
    assert len(notes) == 6  # JSON lists them all, -v or not
    folded = run("risk", sample("hedged.toml"), columns="200").stdout
    assert folded.endswith("\n6 assumptions: -v lists them\n") and notes[0] not in folded
    listed = run("risk", sample("hedged.toml"), "-v", columns="200").stdout
    assert "\nassumptions:\n" in listed and all(f"  - {a}\n" in listed for a in notes)
    narrow = run("risk", sample("hedged.toml"), "--verbose", columns="80").stdout
    assert "  - USDT: haircut 0.0001, auto-exchange haircut 0.0001 from rules binance\n    (stand-ins;" in narrow


def test_one_assumption_is_singular_and_none_is_silent(write):
    text = """
        [account]
        mode = "multi-asset"
        rules = "binance"
        tier = "regular"
        [assets.USDT]
        balance = 100
        price = 1
        haircut = 0
        ask_buffer = 0
        autoexchange_haircut = 0
        autoexchange_ask_buffer = 0
        """
    one = run("ltv", write(text))  # open_orders not given: the one assumption
    assert one.stdout.endswith("\ntriggered                                   no\n\n1 assumption: -v lists it\n")
    none = run("ltv", write(text.replace("[assets.USDT]", "open_orders = 0\n        [assets.USDT]")))
    assert none.stdout.endswith("\ntriggered                                   no\n")


# ------------------------------------------------------------------------------------------ warnings

BASE = """
[account]
open_orders = 0
[assets.USDT]
balance = 10000
price = 1
[assets.BTC]
balance = 1
price = 100000
[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 0.1
entry_price = 100000
mark_price = 100000
leverage = 10
maint_margin_rate = 0.004
"""


@pytest.mark.parametrize(
    "old, new, warning",
    [
        # mark 110,001 against an index of 100,000 × USDT 1: 10.001 % above, more than 10 %
        (
            "mark_price = 100000",
            "mark_price = 110001",
            "positions[1].mark_price: BTCUSDT mark 110,001.00 is 10.00 % above the index price of BTC, 100,000.00; "
            "is one of them mistyped?",
        ),
        # the case: a BTCUSDT mark of 9,700 against an index of 97,000 (a typed-off zero): 90 % below
        (
            "mark_price = 100000",
            "mark_price = 10000",
            "positions[1].mark_price: BTCUSDT mark 10,000.00 is 90.00 % below the index price of BTC, 100,000.00; "
            "is one of them mistyped?",
        ),
        # 100,000 against an index of 97,000 is 3.09 % off: within 10 %, no warning
        ("price = 100000\n[[", "price = 97000\n[[", None),
        (
            "maint_margin_rate = 0.004",
            "maint_margin_rate = 0.5",
            "positions[1].maint_margin_rate: 0.5 is 50.00 % of the notional; a rate is a fraction (0.4 % is 0.004)",
        ),
        ("leverage = 10", "leverage = 200", "positions[1].leverage: 200 is above Binance's highest leverage, 125"),
        (
            "balance = 1\n",
            "balance = 1\nhaircut = 0.6\n",
            "assets.BTC.haircut: 0.6 discounts 60.00 % of the collateral; a haircut is a fraction (5 % is 0.05)",
        ),
        # 10,001 BTC × 100,000 = 1,000,100,000 USD: more than 1e9
        (
            "balance = 1\n",
            "balance = 10001\n",
            "assets.BTC.balance: 10,001.00 BTC is worth 1,000,100,000.00 USD at index 100,000.00; "
            "is it typed in USD instead of BTC?",
        ),
    ],
    ids=["mark-index", "mark-typo", "mark-near", "mmr", "leverage", "haircut", "balance"],
)
def test_plausibility_warnings(tmp_path, old, new, warning):
    good = tmp_path / "good.toml"
    good.write_text(BASE)
    assert run("risk", str(good)).stderr == ""
    bad = tmp_path / "p.toml"
    assert old in BASE
    bad.write_text(BASE.replace(old, new, 1))
    table = run("risk", str(bad))
    if warning is None:
        assert table.stderr == ""
        return
    line = f"mamcli: warning: {bad}: {warning}"
    assert line in table.stderr.splitlines()
    assert table.exit_code == run("risk", str(good)).exit_code == 0  # a warning never changes the exit code
    as_json = run("risk", str(bad), "--json")
    assert line in as_json.stderr.splitlines()
    assert f"{bad}: {warning}" in json.loads(as_json.stdout)["warnings"]


def test_warnings_at_their_limits_are_silent(tmp_path):
    # exactly 10 % from the index, exactly 1e9 USD, haircut 0.5, leverage 125, rate just below 0.5: no warning
    text = (
        BASE.replace("mark_price = 100000", "mark_price = 110000")
        .replace("balance = 1\n", "balance = 10000\nhaircut = 0.5\n")
        .replace("leverage = 10", "leverage = 125")
        .replace("maint_margin_rate = 0.004", "maint_margin_rate = 0.49")
    )
    path = tmp_path / "p.toml"
    path.write_text(text)
    r = run("risk", str(path), "--json")
    assert r.stderr == "" and json.loads(r.stdout)["warnings"] == []


def test_every_command_carries_the_warnings(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(BASE.replace("leverage = 10", "leverage = 200"))
    for command in (
        ["equity"],
        ["ltv"],
        ["autoexchange"],
        ["switch-check"],
        ["stress", "--shock-range", "BTC:-1%:+1%"],
    ):
        r = run(command[0], str(path), *command[1:], "--json")
        assert json.loads(r.stdout)["warnings"] == [
            f"{path}: positions[1].leverage: 200 is above Binance's highest leverage, 125"
        ]
        assert r.stderr.count("mamcli: warning:") == 1


# ------------------------------------------------------------------------------------------ errors that say the fix


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "quantity = 0.1",
            "quantity = -12",
            'positions[1].quantity: must be greater than 0 (got -12); use side = "short" and a positive quantity',
        ),
        (
            "balance = 1\n",
            "balance = 1\nhaircut = 5\n",
            "assets.BTC.haircut: must be at least 0 and below 1 (got 5); haircut 5: a fraction is expected, 5 % is 0.05",
        ),
        (
            "maint_margin_rate = 0.004",
            "maint_margin_rate = 0.4",  # 0.4 is a plausible fraction (40 %): no hint, only past 1
            None,
        ),
        (
            "maint_margin_rate = 0.004",
            "maint_margin_rate = 12.5",
            "positions[1].maint_margin_rate: must be at least 0 and below 1 (got 12.5); "
            "maint_margin_rate 12.5: a fraction is expected, 12.5 % is 0.125",
        ),
        (
            'side = "long"',
            'side = "LONG"',
            "positions[1].side: must be one of long, short, got 'LONG' (did you mean 'long'?)",
        ),
        (
            'side = "long"',
            'side = "SHORT"',
            "positions[1].side: must be one of long, short, got 'SHORT' (did you mean 'short'?)",
        ),
        (
            'symbol = "BTCUSDT"',
            'symbol = "BTCUSDC"',
            "positions[1].margin_asset: BTCUSDC is margined in USDC, which is missing from [assets]; "
            "add [assets.USDC] with its balance (0 if none) and price",
        ),
    ],
    ids=["negative-quantity", "haircut-percent", "mmr-fraction", "mmr-percent", "LONG", "SHORT", "missing-asset"],
)
def test_errors_say_the_fix(tmp_path, old, new, message):
    path = tmp_path / "p.toml"
    assert old in BASE
    path.write_text(BASE.replace(old, new, 1))
    r = run("risk", str(path))
    if message is None:
        assert r.exit_code in (0, 1)
        return
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == f"mamcli: error: {path}: {message}\n"


def test_numbers_in_messages_are_written_as_in_tables():
    r = run("switch-check", sample("usdc-deficit.toml"), "--json")
    messages = [b["message"] for b in json.loads(r.stdout)["blockers"]]
    # USDC wallet −9,500; its pool: −9,500 + uPnL −300 = −9,800 against initial margin 9,000 / 10 = 900
    assert messages == [
        "USDC wallet balance is -9,500.00: bring it to 0 or above first",
        "USDC alone holds -9,800.00 against initial margin 900.00 of its positions",
    ]


# ------------------------------------------------------------------------------------------ exit codes, init, completion


def test_fail_on_never():
    assert run("risk", sample("red-band.toml")).exit_code == 1  # red at 87.22 %
    assert run("risk", sample("red-band.toml"), "--fail-on", "never").exit_code == 0
    stress = ["stress", sample("hedged.toml"), "--shock-range", "BTC:-60%:+20%", "--steps", "9"]
    assert run(*stress).exit_code == 1  # −60 % is past liquidation
    assert run(*stress, "--fail-on", "never").exit_code == 0


def test_init_writes_what_the_default_profile_accepts():
    starter = run("init", "-")
    assert starter.exit_code == 0
    r = run("risk", "-", "--json", input=starter.stdout)
    assert r.exit_code == 0 and r.stderr == ""
    doc = json.loads(r.stdout)
    assert doc["rules"] == "binance" and doc["warnings"] == []


def test_tab_completes_file_names_for_portfolio():
    def complete(words: str, cword: int) -> str:
        env = {"_MAMCLI_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        r = CliRunner().invoke(main, [], env=env, prog_name="mamcli")
        assert r.exit_code == 0
        return r.stdout

    # bash_complete answers TYPE,VALUE lines; "file" tells the shell to complete file names itself
    assert complete("mamcli risk sam", 2) == "file,sam\n"
    assert complete("mamcli check sam", 2) == "file,sam\n"
    assert complete("mamcli stress ", 2) == "file,\n"
    assert "plain,never" in complete("mamcli risk p.toml --fail-on n", 4)
    assert "plain,--wide" in complete("mamcli equity p.toml --w", 3)
