"""The command line as users and scripts meet it: tables, JSON, exit codes, and every error path."""

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES, sample

from mamcli.cli import main

COMMANDS = ["equity", "risk", "ltv", "autoexchange", "switch-check"]

# Exit code of each sample under each command, worked out from the sample stories (see samples/*.toml).
EXPECTED_EXIT = {
    "hedged.toml": {"equity": 0, "risk": 0, "ltv": 0, "autoexchange": 0, "switch-check": 0},
    "seed-example.toml": {"equity": 0, "risk": 0, "ltv": 0, "autoexchange": 0, "switch-check": 0},
    "red-band.toml": {"equity": 0, "risk": 1, "ltv": 0, "autoexchange": 0, "switch-check": 1},
    "idle-ltv.toml": {"equity": 0, "risk": 0, "ltv": 1, "autoexchange": 1, "switch-check": 1},
    "single-isolated.toml": {"equity": 0, "risk": 0, "ltv": 0, "autoexchange": 0, "switch-check": 1},
    "usdc-deficit.toml": {"equity": 0, "risk": 0, "ltv": 0, "autoexchange": 0, "switch-check": 1},
}

COMMON_KEYS = {"command", "mode", "rules", "assumptions"}
KEYS = {
    "equity": {"assets", "value_usd", "equity_usd", "initial_margin_usd", "available_usd", "available"},
    "risk": {"equity_usd", "maint_margin_usd", "margin_ratio", "band", "buffer_usd", "positions"},
    "ltv": {"ltv", "negative_usd", "positive_usd", "trigger", "applies", "triggered"},
    "autoexchange": {"triggered", "triggers", "sales", "deficits", "cost_usd", "shortfall_usd", "balances_after"},
    "switch-check": {"from", "to", "allowed", "blockers", "preview"},
}


def invoke(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env)


def test_every_sample_is_covered():
    assert sorted(EXPECTED_EXIT) == sorted(p.name for p in SAMPLES.glob("*.toml"))


@pytest.mark.parametrize("name", sorted(EXPECTED_EXIT))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_sample_through_every_command(name, command):
    expected = EXPECTED_EXIT[name][command]
    table = invoke(command, sample(name))
    assert table.exit_code == expected, table.output
    assert table.stderr == ""
    assert table.stdout.startswith(f"mamcli {command} · ")
    assert "\x1b[" not in table.stdout  # not a terminal: no colour
    as_json = invoke(command, sample(name), "--json")
    assert as_json.exit_code == expected
    doc = json.loads(as_json.stdout, parse_float=Decimal)
    assert COMMON_KEYS | KEYS[command] <= set(doc)
    assert doc["command"] == command


def test_json_numbers_are_exact_decimals_rounded_half_up():
    out = invoke("risk", sample("seed-example.toml"), "--json").stdout
    assert '"margin_ratio": 0.00676089' in out  # 0.8228 / 121.7 = 0.006760887…
    assert '"maint_margin_usd": 0.8228' in out
    assert "e-" not in out and "E" not in out.replace("ETH", "")
    doc = json.loads(out, parse_float=Decimal)
    assert doc["equity_usd"] == Decimal("121.7")


def test_risk_json_keys_of_positions_and_pools():
    doc = json.loads(invoke("risk", sample("single-isolated.toml"), "--json").stdout)
    assert {
        "symbol",
        "side",
        "quantity",
        "margin_asset",
        "notional",
        "unrealized_pnl",
        "maint_margin_rate",
        "maint_amount",
        "maint_margin",
        "maint_margin_usd",
    } <= set(doc["positions"][0])
    assert {"pool", "equity", "maint_margin", "margin_ratio", "band"} <= set(doc["pools"][0])
    assert doc["margin_ratio"] == 0.18 and doc["band"] == "green"


def test_equity_json_asset_rows():
    doc = json.loads(invoke("equity", sample("hedged.toml"), "--json").stdout, parse_float=Decimal)
    usdt, btc = doc["assets"]
    assert set(usdt) >= {
        "asset",
        "wallet_balance",
        "unrealized_pnl",
        "margin_balance",
        "price",
        "rate",
        "value_usd",
        "collateral_usd",
    }
    # USDT 2,000 + 200 uPnL = 2,200 × 0.9999 = 2,199.78; BTC 0.05 × 57,000 = 2,850
    assert usdt["collateral_usd"] == Decimal("2199.78") and btc["collateral_usd"] == Decimal("2850")
    assert doc["equity_usd"] == Decimal("5049.78")
    # initial margin (600 + 600) × 1.0001 = 1,200.12 → available 3,849.66
    assert doc["available_usd"] == Decimal("3849.66")


def test_autoexchange_json_shapes():
    doc = json.loads(invoke("autoexchange", sample("idle-ltv.toml"), "--json").stdout, parse_float=Decimal)
    assert doc["triggers"] == [{"kind": "ltv", "ltv": Decimal("0.99859609"), "trigger": Decimal("0.995")}]
    assert set(doc["sales"][0]) >= {"asset", "quantity", "value_usd", "proceeds_usd"}
    assert set(doc["deficits"][0]) >= {"asset", "quantity", "value_usd"}
    # USDT 9,960 × 1.0001 = 9,961.0 of cost; BTC sold 9,960.996 / 58,500 = 0.17027343…
    assert doc["sales"][0]["proceeds_usd"] == Decimal("9960.996")
    assert doc["sales"][0]["quantity"] == Decimal("0.17027344")
    assert doc["balances_after"] == {"USDT": 0, "BTC": Decimal("0.00472656")}


def test_switch_check_json_blockers_and_preview():
    r = invoke("switch-check", sample("single-isolated.toml"), "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1
    assert doc["blockers"] == [
        {
            "reason": "isolated_position",
            "binance_code": -4167,
            "symbol": "ETHUSDT",
            "message": "ETHUSDT short is isolated: make it cross or close it first",
        }
    ]
    assert set(doc["preview"]["from"]) >= {"equity_usd", "margin_ratio", "band"}
    r = invoke("switch-check", sample("single-isolated.toml"), "--to", "single-asset", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["allowed"] is True


def test_switch_check_table_shows_both_sides():
    out = invoke("switch-check", sample("single-isolated.toml")).stdout
    assert "REFUSED" in out and "[-4167]" in out
    assert "now: single-asset" in out and "after: multi-asset" in out
    assert "6,749.90" in out  # 6,749.895 half-up to cents


@pytest.mark.parametrize("fail_on, code", [("green", 1), ("yellow", 1), ("red", 1), ("liquidation", 0)])
def test_risk_fail_on(fail_on, code):
    assert invoke("risk", sample("red-band.toml"), "--fail-on", fail_on).exit_code == code


def test_risk_fail_on_green_flags_any_account():
    assert invoke("risk", sample("hedged.toml"), "--fail-on", "green").exit_code == 1
    assert invoke("risk", sample("hedged.toml"), "--fail-on", "yellow").exit_code == 0


def test_risk_table():
    out = invoke("risk", sample("red-band.toml")).stdout
    assert "87.22 %" in out and "RED" in out
    assert "4,700.47" in out and "688.53" in out


def test_autoexchange_what_if_table():
    r = invoke("autoexchange", sample("usdc-deficit.toml"), "--what-if")
    assert r.exit_code == 0
    assert "not triggered" in r.stdout and "USDC" in r.stdout and "haircut loss" in r.stdout


def test_rules_option_changes_the_verdict():
    r = invoke("--rules", "seed", "--tier", "general", "autoexchange", sample("usdc-deficit.toml"), "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["rules"] == "seed" and doc["tier"] == "general"  # -9,500 × 0.9998 > -10,000
    r = invoke("--rules", "binance-2025", "--tier", "regular", "autoexchange", sample("usdc-deficit.toml"), "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and doc["rules"] == "binance" and doc["tier"] == "regular"  # -9,500 <= -5,000 USDC


def test_rules_from_a_user_file(tmp_path):
    rules = (ROOT / "mamcli" / "rules" / "seed.toml").read_text().replace('name = "seed"', 'name = "mine"')
    rules = rules.replace("[assets.BTC]\nhaircut = 0.05", "[assets.BTC]\nhaircut = 0.1")
    (tmp_path / "mine.toml").write_text(rules)
    r = invoke("--rules", str(tmp_path / "mine.toml"), "equity", sample("hedged.toml"), "--json")
    doc = json.loads(r.stdout, parse_float=Decimal)
    assert doc["rules"] == "mine"
    assert doc["assets"][1]["collateral_usd"] == Decimal("2700")  # 0.05 × 60,000 × 0.9
    assert any("BTC: haircut 0.1" in a for a in doc["assumptions"])


def test_stdin_portfolio():
    text = (SAMPLES / "seed-example.toml").read_text()
    r = invoke("risk", "-", "--json", input=text)
    assert r.exit_code == 0 and json.loads(r.stdout)["equity_usd"] == 121.7


def test_ltv_table():
    out = invoke("ltv", sample("idle-ltv.toml")).stdout
    assert "0.99859609" in out and "YES" in out


def test_colour_only_when_asked():
    from mamcli import engine
    from mamcli.portfolio import load_portfolio
    from mamcli.render import render

    result = engine.risk(load_portfolio(sample("red-band.toml")))
    assert "\x1b[31mRED\x1b[0m" in render(result, as_json=False, colour=True)
    assert "\x1b[" not in render(result, as_json=False, colour=False)


def test_version_and_help():
    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout.startswith("mamcli ")
    r = invoke("--help")
    assert r.exit_code == 0 and all(c in r.stdout for c in COMMANDS)


# ------------------------------------------------------------------------------------------ bad input

ASSET = '[assets.USDT]\nbalance = 100\nprice = 1\n'
POSITION = (
    '[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nquantity = 1\nentry_price = 100\n'
    'mark_price = 100\nmaint_margin_rate = 0.004\n'
)

BAD = [
    ("not-toml", "balance = = 3", "not valid TOML: Invalid value (at line 1, column 11)"),
    ("empty", "", "is empty"),
    ("missing-price", '[assets.USDT]\nbalance = 1\n', "assets.USDT.price: is required"),
    (
        "text-number",
        '[assets.USDT]\nbalance = "lots"\nprice = 1\n',
        "assets.USDT.balance: expected a number, got the text 'lots'",
    ),
    (
        "array-number",
        '[assets.USDT]\nbalance = [1]\nprice = 1\n',
        "assets.USDT.balance: expected a number, got an array",
    ),
    ("nan", '[assets.USDT]\nbalance = nan\nprice = 1\n', "assets.USDT.balance: must be a finite number"),
    ("inf", '[assets.USDT]\nbalance = 1\nprice = inf\n', "assets.USDT.price: must be a finite number"),
    ("price-zero", '[assets.USDT]\nbalance = 1\nprice = 0\n', "assets.USDT.price: must be greater than 0 (got 0)"),
    ("price-negative", '[assets.USDT]\nbalance = 1\nprice = -2\n', "assets.USDT.price: must be greater than 0"),
    ("haircut-one", ASSET + "haircut = 1\n", "assets.USDT.haircut: must be at least 0 and below 1 (got 1)"),
    ("haircut-negative", ASSET + "haircut = -0.1\n", "assets.USDT.haircut: must be at least 0 and below 1"),
    (
        "no-haircut",
        '[assets.XRP]\nbalance = 1\nprice = 0.5\n',
        "assets.XRP: no haircut: rules binance has none for XRP",
    ),
    ("typo", ASSET + "haircutt = 0.1\n", "assets.USDT.haircutt: unknown key (did you mean 'haircut'?)"),
    ("top-typo", ASSET + "[acount]\nmode = 'multi-asset'\n", "acount: unknown key (did you mean 'account'?)"),
    ("bad-asset-name", '[assets.btc]\nbalance = 1\nprice = 1\n', "assets.btc: an asset name is upper-case"),
    (
        "quantity-zero",
        ASSET + POSITION.replace("quantity = 1", "quantity = 0"),
        "positions[1].quantity: must be greater than 0 (got 0)",
    ),
    (
        "quantity-negative",
        ASSET + POSITION.replace("quantity = 1", "quantity = -3"),
        "positions[1].quantity: must be greater than 0 (got -3)",
    ),
    ("side", ASSET + POSITION.replace('"long"', '"buy"'), "positions[1].side: must be one of long, short, got 'buy'"),
    ("leverage-zero", ASSET + POSITION + "leverage = 0\n", "positions[1].leverage: must be greater than 0 (got 0)"),
    (
        "margin-asset-missing",
        ASSET + POSITION + 'margin_asset = "USDC"\n',
        "positions[1].margin_asset: BTCUSDT: margin asset 'USDC' is not under [assets]",
    ),
    (
        "quote-not-listed",
        ASSET + POSITION.replace("BTCUSDT", "BTCUSDC"),
        "positions[1].margin_asset: BTCUSDC is margined in USDC, which is missing from [assets]; add [assets.USDC]",
    ),
    (
        "no-maintenance",
        # ADAUSDT: not in the brackets snapshot of the default profile
        ASSET + POSITION.replace("maint_margin_rate = 0.004\n", "").replace("BTCUSDT", "ADAUSDT"),
        "positions[1].maint_margin_rate: ADAUSDT: no maint_margin_rate and no [brackets] table",
    ),
    (
        "beyond-brackets",
        ASSET
        + POSITION.replace("maint_margin_rate = 0.004\n", "")
        + "[brackets]\nBTCUSDT = [ { floor = 0, cap = 50, mmr = 0.004, cum = 0 } ]\n",
        "brackets.BTCUSDT: notional 100 of positions[1] is at or beyond the last cap 50",
    ),
    (
        "isolated-in-multi",
        ASSET + POSITION + 'margin_type = "isolated"\nisolated_wallet = 10\n',
        "positions[1].margin_type: BTCUSDT: an isolated position cannot exist in multi-asset mode (Binance -4168)",
    ),
    (
        "unknown-mode",
        '[account]\nmode = "portfolio"\n' + ASSET,
        "account.mode: must be one of multi-asset, single-asset, got 'portfolio'",
    ),
    ("unknown-tier", '[account]\ntier = "gold"\n' + ASSET, "account.tier: unknown tier 'gold' for rules binance"),
    (
        "unknown-rules",
        '[account]\nrules = "seeed"\n' + ASSET,
        "account.rules: unknown rules profile 'seeed' (did you mean 'seed'?)",
    ),
    ("huge", '[assets.USDT]\nbalance = 1e999999\nprice = 1\n', "assets.USDT.balance: is too large"),
    ("tiny", '[assets.USDT]\nbalance = 1\nprice = 1e-999999\n', "assets.USDT.price: has more than 18 decimal places"),
    (
        "bracket-gap",
        ASSET
        + POSITION.replace("maint_margin_rate = 0.004\n", "")
        + "[brackets]\nBTCUSDT = [ { floor = 0, cap = 50, mmr = 0.004, cum = 0 },"
        " { floor = 60, cap = 500, mmr = 0.005, cum = 0 } ]\n",
        "brackets.BTCUSDT[2].floor: must equal the previous bracket's cap 50 (got 60)",
    ),
    (
        "duplicate-key",
        '[assets.USDT]\nbalance = 1\nbalance = 2\nprice = 1\n',
        "not valid TOML: Cannot overwrite a value",
    ),
    ("open-orders", '[account]\nopen_orders = 1.5\n' + ASSET, "account.open_orders: must be a whole number"),
]


@pytest.mark.parametrize("name, text, message", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("command", ["risk", "equity"])
def test_bad_input_exits_2_with_one_clear_line(tmp_path, name, text, message, command):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    r = invoke(command, str(path), "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert any(message in line for line in lines), r.stderr
    assert all(line.startswith(f"mamcli: error: {path}: ") for line in lines)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    path = tmp_path / "many.toml"
    path.write_text(
        '[account]\nmode = "multi"\n[assets.USDT]\nbalance = "x"\nprice = 0\n'
        + POSITION.replace('"long"', '"up"').replace("quantity = 1", "quantity = -1")
    )
    r = invoke("risk", str(path))
    assert r.exit_code == 2 and r.stdout == ""
    assert [line.split(": ")[3] for line in r.stderr.splitlines()] == [
        "account.mode",
        "assets.USDT.balance",
        "assets.USDT.price",
        "positions[1].side",
        "positions[1].quantity",
    ]


def test_binary_file(tmp_path):
    path = tmp_path / "garbage.toml"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    r = invoke("risk", str(path))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == f"mamcli: error: {path}: is not UTF-8 text (bad byte at offset 0); is it a TOML file?\n"


def test_missing_file_and_directory(tmp_path):
    r = invoke("ltv", str(tmp_path / "nope.toml"))
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", f"mamcli: error: {tmp_path / 'nope.toml'}: no such file\n")
    r = invoke("ltv", str(tmp_path))
    assert r.exit_code == 2 and "is a directory" in r.stderr


def test_unknown_rules_option():
    r = invoke("--rules", "nope", "risk", sample("hedged.toml"))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("mamcli: error: --rules: unknown rules profile 'nope'")


def test_broken_user_rules_file(tmp_path):
    (tmp_path / "r.toml").write_text('name = "x"\nltv_trigger = 0\n')
    r = invoke("--rules", str(tmp_path / "r.toml"), "risk", sample("hedged.toml"))
    assert r.exit_code == 2 and r.stdout == ""
    assert f"mamcli: error: {tmp_path / 'r.toml'}: ltv_trigger: must be greater than 0 (got 0)" in r.stderr


def test_usage_errors_exit_2():
    assert invoke("risk").exit_code == 2  # no PORTFOLIO
    assert invoke("risk", sample("hedged.toml"), "--fail-on", "blue").exit_code == 2
    assert invoke("frobnicate").exit_code == 2


# ------------------------------------------------------------------------------------------ start-up

PROBE = (
    "import sys, io\nfrom mamcli.cli import main\nsys.stdout = io.StringIO()\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "print(sorted(m for m in sys.modules if m in ('tabulate', 'importlib.metadata', 'locale')), file=sys.stderr)"
)


@pytest.mark.parametrize(
    "args, banned",
    [([c, sample("hedged.toml"), "--json"], "['tabulate', 'importlib.metadata', 'locale']") for c in COMMANDS]
    + [([c, sample("hedged.toml")], "['importlib.metadata', 'locale']") for c in COMMANDS]
    + [
        (
            ["stress", sample("hedged.toml"), "--shock-range", "BTC:-10%:+10%", "--json"],
            "['tabulate', 'importlib.metadata']",
        ),
        (["check", sample("hedged.toml")], "['tabulate', 'importlib.metadata']"),
        (["rules", "--json"], "['tabulate', 'importlib.metadata']"),
    ],
)
def test_start_up_imports(args, banned):
    """The JSON path never imports tabulate; no command reads package metadata (only --version does) or
    pulls in locale (Click's gettext-translated default help texts would)."""
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    loaded = eval(r.stderr.strip().splitlines()[-1])
    assert not set(loaded) & set(eval(banned)), loaded


def test_importing_the_cli_loads_no_engine_or_tabulate():
    code = "import sys, mamcli.cli; print(sorted(m for m in sys.modules if m.startswith(('tabulate', 'mamcli.'))))"
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert r.stdout.strip() == "['mamcli.cli']"


def test_python_dash_m_and_no_traceback_on_bad_input(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[assets.USDT]\nbalance = 1\nprice = -1\n")
    r = subprocess.run(
        [sys.executable, "-m", "mamcli", "risk", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr


def test_colour_on_a_terminal_unless_no_color(monkeypatch):
    from mamcli import cli

    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli._colour() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._colour() is False


def test_extreme_but_valid_figures_are_written_exactly(write):
    # equity 1e-18 USD against maintenance 1e8 × 1e6 × 0.001 = 1e11: a ratio of 1e29
    path = write("""
        [assets.USDT]
        balance = 0.000000000000000001
        price = 1
        haircut = 0
        ask_buffer = 0
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 100000000
        entry_price = 1000000
        mark_price = 1000000
        maint_margin_rate = 0.001
    """)
    r = invoke("risk", path, "--json")
    doc = json.loads(r.stdout, parse_float=Decimal)
    assert r.exit_code == 1 and doc["band"] == "liquidation"
    assert doc["margin_ratio"] == Decimal("1e29")  # 1e11 / 1e-18, written out in 30 digits, no exponent
    assert "E" not in r.stdout.split('"margin_ratio": ')[1].split(",")[0]


def test_rules_path_in_the_file_is_relative_to_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "desk"
    folder.mkdir()
    rules = (ROOT / "mamcli" / "rules" / "seed.toml").read_text().replace('name = "seed"', 'name = "desk"')
    (folder / "desk-rules.toml").write_text(rules)
    (folder / "p.toml").write_text(
        '[account]\nrules = "desk-rules.toml"\n' + (SAMPLES / "hedged.toml").read_text().split("[account]\n", 1)[1]
    )
    monkeypatch.chdir(tmp_path)  # not the portfolio's folder
    r = invoke("risk", "desk/p.toml", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["rules"] == "desk"
    r = invoke("--rules", "seed", "risk", "desk/p.toml", "--json")  # the option wins
    assert json.loads(r.stdout)["rules"] == "seed"


LIVE_MODULES = ("websockets", "asyncio", "http.client", "urllib.request", "json", "ssl", "socket", "mamcli.watch")
LIVE_PROBE = (
    "import sys, io\nbefore = set(sys.modules)\nfrom mamcli.cli import main\nsys.stdout = io.StringIO()\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "new = set(sys.modules) - before\n"
    f"print(sorted(m for m in new if m.split('.')[0] in {LIVE_MODULES!r} or m in {LIVE_MODULES!r}), file=sys.stderr)"
)


@pytest.mark.parametrize("command", ["risk", "equity", "ltv", "autoexchange"])
def test_file_table_path_imports_no_network_or_json(command):
    """`mamcli risk FILE` (a table, the cron path) loads neither the WebSocket client nor asyncio, nor the HTTP
    client, urllib.request or json: those belong to `watch` and the live paths.  (urllib.parse may already be
    loaded by the interpreter's site start-up, before mamcli; only what mamcli adds is counted.)"""
    r = subprocess.run(
        [sys.executable, "-c", LIVE_PROBE, command, sample("hedged.toml")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert eval(r.stderr.strip().splitlines()[-1]) == []


def test_watch_help_imports_no_websockets():
    r = subprocess.run(
        [sys.executable, "-c", LIVE_PROBE, "watch", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert eval(r.stderr.strip().splitlines()[-1]) == []
