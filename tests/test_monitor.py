"""Issue 8: several accounts in one run, `source` and `as_of`, and `check` raising every alarm (SPEC §9).

Every account below has its buffers set to 0 so that its figures can be worked out by hand: a balance is
worth balance × price, and the auto-exchange thresholds are those of the binance profile (vip2: USDT and
USDC −10,000, BTC −0.1; regular: USDT −5,000).
"""

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from click.testing import CliRunner
from conftest import sample

from mamcli import nagios
from mamcli.cli import main
from mamcli.results import Shocks


def invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})


FLAT = "haircut = 0\nask_buffer = 0\nautoexchange_haircut = 0\nautoexchange_ask_buffer = 0\n"


def account(stable: str, balance: str, btc: str = "1", tier: str = "vip2", extra: str = "") -> str:
    """An idle account: one stablecoin wallet and a BTC wallet at 60,000, no buffers."""
    return (
        f'[account]\nmode = "multi-asset"\ntier = "{tier}"\nopen_orders = 0\n{extra}\n'
        f"[assets.{stable}]\nbalance = {balance}\nprice = 1\n{FLAT}\n"
        f"[assets.BTC]\nbalance = {btc}\nprice = 60000\n{FLAT}"
    )


def long_btc(usdt: str, extra: str = "") -> str:
    """USDT collateral and a BTCUSDT long 1 @ 50,000 (mark = entry), maintenance 1 % of notional.

    A BTC shock s moves the mark to 50,000 (1 + s): equity = USDT + 50,000 s, maintenance = 500 (1 + s).
    Liquidation where they meet: USDT + 50,000 s = 500 + 500 s, so s = (500 − USDT) / 49,500.  Up, the
    equity outgrows the maintenance: no shock up liquidates."""
    return (
        f'[account]\nmode = "multi-asset"\nopen_orders = 0\n{extra}\n'
        f"[assets.USDT]\nbalance = {usdt}\nprice = 1\n{FLAT}\n"
        '[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nquantity = 1\nentry_price = 50000\n'
        "mark_price = 50000\nmaint_margin_rate = 0.01\n"
    )


def check(write, text, *args, name="p.toml"):
    r = invoke("check", write(text, name), *args)
    assert r.stdout.count("\n") == 1, r.stdout
    return r.exit_code, r.stdout.rstrip("\n")


# ---------------------------------------------------------------------------------------------- check: each alarm alone


def test_auto_exchange_triggered_alone_is_critical(write):
    # USDC −10,250 <= −10,000 (vip2).  LTV 10,250 / 60,000 = 0.17083333 (no warning); no positions.
    # Equity −10,250 + 60,000 = 49,750.  Headroom: USDC −10,250 − (−10,000) = −250 USD; BTC 1 − (−0.1) = 1.1
    # BTC = 66,000 USD; the least is −250.
    code, line = check(write, account("USDC", "-10250"))
    assert code == 2
    assert line == (
        "MAMCLI CRITICAL - auto-exchange triggered: USDC -10250.00 <= -10000; margin ratio 0.00% (green), "
        "equity 49750.00 USD | margin_ratio=0.00%;50;80;0;100 equity_usd=49750.00 maint_margin_usd=0.00 "
        "ltv=0.17083333;0.9;0.995 liq_distance=U;15:;5:;0 ae_headroom_usd=-250.00"
    )


@pytest.mark.parametrize(
    "balance, args, code",
    [
        ("-8500", [], 1),  # −8,500 <= 80 % of −10,000 = −8,000
        ("-8000", [], 1),  # at 80 %: at or below
        ("-7999", [], 0),  # above it
        ("-8500", ["--ae-warn", "10"], 0),  # 90 % of −10,000 = −9,000 < −8,500
        ("-9000", ["--ae-warn", "10%"], 1),  # at 90 %
    ],
)
def test_auto_exchange_near_alone_is_a_warning(write, balance, args, code):
    got, line = check(write, account("USDT", balance), *args)
    assert got == code
    assert line.startswith("MAMCLI WARNING - auto-exchange near: USDT " if code else "MAMCLI OK - margin ratio 0.00%")


def test_auto_exchange_near_line(write):
    # headroom −8,500 − (−10,000) = 1,500 USD; LTV 8,500 / 60,000 = 0.141666… → 0.14166667
    code, line = check(write, account("USDT", "-8500"))
    assert (code, line) == (
        1,
        "MAMCLI WARNING - auto-exchange near: USDT -8500.00 within 20% of -10000; margin ratio 0.00% (green), "
        "equity 51500.00 USD | margin_ratio=0.00%;50;80;0;100 equity_usd=51500.00 maint_margin_usd=0.00 "
        "ltv=0.14166667;0.9;0.995 liq_distance=U;15:;5:;0 ae_headroom_usd=1500.00",
    )


def test_ltv_warning_alone(write):
    # USDT −5,400 against BTC 0.1 × 60,000 = 6,000: LTV 5,400 / 6,000 = 0.9 >= 0.9, below the 0.995 trigger.
    # Not near the −10,000 threshold (−5,400 > −8,000).  Headroom: USDT 4,600; BTC 0.2 × 60,000 = 12,000.
    code, line = check(write, account("USDT", "-5400", btc="0.1"))
    assert (code, line) == (
        1,
        "MAMCLI WARNING - LTV 0.9 >= 0.9 (trigger 0.995); margin ratio 0.00% (green), equity 600.00 USD | "
        "margin_ratio=0.00%;50;80;0;100 equity_usd=600.00 maint_margin_usd=0.00 ltv=0.9;0.9;0.995 "
        "liq_distance=U;15:;5:;0 ae_headroom_usd=4600.00",
    )
    assert check(write, account("USDT", "-5400", btc="0.1"), "--ltv-warn", "0.91")[0] == 0


def test_ltv_triggered_is_critical_with_the_auto_exchange_it_starts(write):
    # USDT −5,985 / 6,000 = 0.9975 >= 0.995: the idle rule fires, and so does auto-exchange (its LTV trigger)
    code, line = check(write, account("USDT", "-5985", btc="0.1"))
    assert code == 2
    assert line.startswith(
        "MAMCLI CRITICAL - auto-exchange triggered: LTV 0.9975 >= 0.995 while idle; "
        "LTV 0.9975 >= 0.995: triggered (idle account); margin ratio 0.00% (green), equity 15.00 USD | "
    )


@pytest.mark.parametrize(
    "usdt, code, text, perf",
    [
        # s = (500 − 5,000) / 49,500 = −0.0909090… → 9.09 %: below 15, not below 5
        ("5000", 1, "MAMCLI WARNING - liquidation distance 9.09% (BTC down); margin ratio 10.00% (green)", "9.09%"),
        # s = (500 − 1,000) / 49,500 = −0.0101010… → 1.01 %; ratio 500 / 1,000 = 50 % (inside -w 50: no alert)
        ("1000", 2, "MAMCLI CRITICAL - liquidation distance 1.01% (BTC down); margin ratio 50.00%", "1.01%"),
        # s = (500 − 20,000) / 49,500 = −0.3939… → 39.39 %: no alarm
        ("20000", 0, "MAMCLI OK - margin ratio 2.50% (green), equity 20000.00 USD", "39.39%"),
    ],
)
def test_liquidation_distance_alone(write, usdt, code, text, perf):
    got, line = check(write, long_btc(usdt))
    assert got == code and line.startswith(text)
    assert f" liq_distance={perf};15:;5:;0 " in line and "ltv=0;0.9;0.995" in line


def test_liquidation_distance_line(write):
    # equity 5,000, maintenance 500 (1 % of 50,000), ratio 10 %; USDT headroom 5,000 − (−5,000) = 10,000 USD
    code, line = check(write, long_btc("5000"))
    assert code == 1
    assert line == (
        "MAMCLI WARNING - liquidation distance 9.09% (BTC down); margin ratio 10.00% (green), equity 5000.00 USD"
        " | margin_ratio=10.00%;50;80;0;100 equity_usd=5000.00 maint_margin_usd=500.00 ltv=0;0.9;0.995"
        " liq_distance=9.09%;15:;5:;0 ae_headroom_usd=10000.00"
    )
    assert check(write, long_btc("5000"), "--liq-warn", "9")[0] == 0  # 9.09 is not below 9
    assert check(write, long_btc("5000"), "--liq-crit", "9.1")[0] == 2  # 9.09 is below 9.1


def test_margin_ratio_alone(write):
    # ratio 500 / 20,000 = 2.5 %: outside -w 2 (0…2), inside -c 80
    code, line = check(write, long_btc("20000"), "-w", "2")
    assert (code, line.split(" | ")[0]) == (1, "MAMCLI WARNING - margin ratio 2.50% (green), equity 20000.00 USD")


def test_max_age(write):
    stamped = long_btc("20000", extra="as_of = 2024-05-01T12:00:00Z")
    code, line = check(write, stamped, "--max-age", "60")  # written years before this test runs
    assert code == 3 and line.startswith("MAMCLI UNKNOWN - data ") and "s old, older than --max-age 60; margin" in line
    assert check(write, stamped, "--max-age", "100000000000")[0] == 0  # 3,000 years
    assert check(write, stamped)[0] == 0  # no --max-age: the age is not checked
    code, line = check(write, long_btc("20000"), "--max-age", "300")
    assert code == 3 and line.startswith(
        "MAMCLI UNKNOWN - the time of the data is not known (no as_of) and --max-age is 300; margin ratio 2.50%"
    )


# ---------------------------------------------------------------------------------------------- check: worst of


def test_critical_beats_unknown_beats_warning(write):
    old = "as_of = 2024-05-01T12:00:00Z"
    # auto-exchange triggered (CRITICAL) and stale (UNKNOWN): CRITICAL, the auto-exchange named first
    code, line = check(write, account("USDC", "-10250", extra=old), "--max-age", "60")
    assert code == 2 and line.startswith("MAMCLI CRITICAL - auto-exchange triggered: USDC -10250.00 <= -10000; data ")
    # auto-exchange near (WARNING) and stale (UNKNOWN): UNKNOWN, the age named first
    code, line = check(write, account("USDT", "-8500", extra=old), "--max-age", "60")
    assert code == 3 and line.startswith("MAMCLI UNKNOWN - data ")
    assert "older than --max-age 60; auto-exchange near: USDT -8500.00 within 20% of -10000; margin ratio" in line


def test_findings_of_one_status_in_the_spec_order(write):
    # margin ratio 50 % against -w 40 and liquidation 1.01 % against --liq-crit 0.5/--liq-warn 5: two WARNINGs,
    # the margin ratio first
    code, line = check(write, long_btc("1000"), "-w", "40", "--liq-crit", "0.5", "--liq-warn", "5")
    assert code == 1
    assert line.startswith(
        "MAMCLI WARNING - margin ratio 50.00% (yellow), equity 1000.00 USD; liquidation distance 1.01% (BTC down) | "
    )


def test_idle_sample_is_no_longer_ok():
    r = invoke("check", sample("idle-ltv.toml"))
    assert r.exit_code == 2 and r.stdout.startswith("MAMCLI CRITICAL - auto-exchange triggered: LTV 0.99859609")


def test_pure_functions():
    shocks = {"BTC": Shocks(D("-0.2"), None), "ETH": Shocks(D("-0.3"), D("0.05")), "non-stable": Shocks(None, None)}
    assert nagios.least_liquidation_shock(shocks) == (D("0.05"), "ETH up")
    assert nagios.least_liquidation_shock({"BTC": Shocks(None, None)}) is None
    assert nagios.least_liquidation_shock(None) is None
    start = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert nagios.age_seconds(start, datetime(2024, 5, 2, 12, 0, 1, 500000, tzinfo=UTC)) == D("86401.5")
    assert nagios.worst([nagios.OK, nagios.WARNING, nagios.UNKNOWN]) == nagios.UNKNOWN
    assert nagios.worst([nagios.UNKNOWN, nagios.CRITICAL]) == nagios.CRITICAL
    code, text = nagios.summary_line([("a", 0, "MAMCLI OK - x"), ("b", 3, "MAMCLI UNKNOWN - y"), ("c", 1, "W")])
    assert code == 3
    assert text == (
        "MAMCLI UNKNOWN - 3 accounts: 0 critical, 1 warning, 1 unknown, 1 ok\na: MAMCLI OK - x\n"
        "b: MAMCLI UNKNOWN - y\nc: W"
    )
    with pytest.raises(nagios.InputError):
        nagios.Limits(ae_warn="abc")


# ---------------------------------------------------------------------------------------------- check: long output, UNKNOWN


def test_check_several_accounts_long_output(write):
    near = write(account("USDT", "-8500"), "near.toml")
    ok = write(long_btc("20000"), "ok.toml")
    r = invoke("check", ok, near, "missing.toml")
    lines = r.stdout.splitlines()
    assert r.exit_code == 3  # UNKNOWN (the missing file) over WARNING
    assert lines[0] == "MAMCLI UNKNOWN - 3 accounts: 0 critical, 1 warning, 1 unknown, 1 ok"
    assert lines[1].startswith(f"{ok}: MAMCLI OK - margin ratio 2.50% (green)")
    assert lines[2].startswith(f"{near}: MAMCLI WARNING - auto-exchange near: USDT -8500.00")
    assert lines[3] == "missing.toml: MAMCLI UNKNOWN - missing.toml: no such file"
    assert len(lines) == 4 and r.stderr == ""
    r = invoke("check", ok, write(account("USDC", "-10250"), "ae.toml"), near)
    assert r.exit_code == 2 and r.stdout.startswith(
        "MAMCLI CRITICAL - 3 accounts: 1 critical, 1 warning, 0 unknown, 1 ok\n"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shock", "x", "check", sample("hedged.toml")], "MAMCLI UNKNOWN - --shock: 'x' is not ASSET=±N%"),
        (["--bogus", "check", sample("hedged.toml")], "MAMCLI UNKNOWN - No such option '--bogus'"),
        (["--price", "BTC=abc", "check", sample("hedged.toml")], "MAMCLI UNKNOWN - --price BTC: "),
        (["--rules", "seed", "check", sample("hedged.toml"), "--rules", "binance"], "MAMCLI UNKNOWN - option --rules"),
        (["check", sample("hedged.toml"), "--liq-warn", "x"], "MAMCLI UNKNOWN - --liq-warn: 'x': "),
        (["check", sample("hedged.toml"), "--max-age", "-1"], "MAMCLI UNKNOWN - --max-age: '-1': must be 0 or more"),
        (["check", sample("hedged.toml"), "--ae-warn", "101"], "MAMCLI UNKNOWN - --ae-warn: '101': must be between"),
    ],
)
def test_every_error_is_unknown(args, message):
    r = invoke(*args)
    assert r.exit_code == 3 and r.stdout.startswith(message) and r.stdout.count("\n") == 1, r.output
    assert r.stderr == ""


def test_global_option_errors_of_other_commands_stay_exit_2():
    r = invoke("--shock", "x", "risk", sample("hedged.toml"))
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.startswith("mamcli: error: --shock: 'x'")


# ---------------------------------------------------------------------------------------------- batch


def test_batch_with_a_bad_file_among_good_ones(write):
    bad = write('[assets.USDT]\nbalance = 1\nprice = -1\nhaircutt = 0\n', "bad.toml")
    good = write(long_btc("20000"), "good.toml")
    r = invoke("risk", good, bad, sample("red-band.toml"), "--json")
    assert r.exit_code == 2  # the input error, over red-band's 1
    assert r.stderr.splitlines() == [
        f"mamcli: error: {bad}: assets.USDT.haircutt: unknown key (did you mean 'haircut'?)",
        f"mamcli: error: {bad}: assets.USDT.price: must be greater than 0 (got -1)",
    ]
    lines = r.stdout.splitlines()
    assert len(lines) == 2  # JSON Lines: one object per computed account, each on one line
    first, second = (json.loads(line, parse_float=D) for line in lines)
    assert first["portfolio"] == good and second["portfolio"] == sample("red-band.toml")
    assert first["margin_ratio"] == D("0.025") and second["band"] == "red"  # 500 / 20,000
    assert first["source"] == "file" and first["as_of"] is None


def test_batch_exit_code_is_the_worst():
    hedged, red = sample("hedged.toml"), sample("red-band.toml")
    assert invoke("risk", hedged, hedged).exit_code == 0
    assert invoke("risk", hedged, red, hedged).exit_code == 1
    assert invoke("risk", hedged, "missing.toml").exit_code == 2


def test_batch_tables_one_section_per_account():
    hedged, red = sample("hedged.toml"), sample("red-band.toml")
    r = invoke("ltv", hedged, red)
    headers = [line for line in r.stdout.splitlines() if line.startswith("mamcli ltv · ")]
    assert [h.split(" · ")[1] for h in headers] == [hedged, red]
    assert "\n\nmamcli ltv · " in r.stdout  # a blank line between sections


def test_one_portfolio_keeps_one_pretty_object():
    r = invoke("ltv", sample("hedged.toml"), "--json")
    doc = json.loads(r.stdout)
    assert r.stdout.startswith('{\n  "command": "ltv",') and "portfolio" not in doc
    assert (doc["source"], doc["as_of"]) == ("file", None)
    assert r.stdout.endswith('  "source": "file",\n  "as_of": null\n}\n')


def test_json_lines_for_every_account_command():
    hedged = sample("hedged.toml")
    for args in (
        ["equity"],
        ["risk"],
        ["ltv"],
        ["autoexchange"],
        ["switch-check"],
        ["stress", "--shock-range", "BTC:-10%:+10%", "--steps", "3"],
    ):
        r = invoke(*args, hedged, sample("idle-ltv.toml"), "--json")
        lines = r.stdout.splitlines()
        assert len(lines) == 2, args
        assert [json.loads(line)["portfolio"] for line in lines] == [hedged, sample("idle-ltv.toml")]


def test_portfolio_from_the_environment_is_one_path():
    r = invoke("ltv", "--json", env={"MAMCLI_PORTFOLIO": sample("hedged.toml")})
    assert r.exit_code == 0 and "portfolio" not in json.loads(r.stdout)


# ---------------------------------------------------------------------------------------------- as_of


@pytest.mark.parametrize(
    "written, iso",
    [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
        ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"),  # in UTC
        ("2024-05-01 12:00:00.250Z", "2024-05-01T12:00:00.250Z"),
    ],
)
def test_as_of_read_from_the_file(write, written, iso):
    path = write(long_btc("20000", extra=f"as_of = {written}"))
    assert json.loads(invoke("risk", path, "--json").stdout)["as_of"] == iso
    header = invoke("risk", path).stdout.splitlines()[0]
    assert header.endswith(
        f" · as of {iso.replace('T', ' ').replace('Z', ' UTC')} · multi-asset · rules binance · tier regular"
    )


@pytest.mark.parametrize(
    "written, problem",
    [
        ('"2024-05-01T12:00:00Z"', "is text in quotes, not a date-time"),
        ("2024-05-01", "is a date without a time"),
        ("2024-05-01T12:00:00", "has no UTC offset"),
        ("1700000000", "must be an offset date-time"),
    ],
)
def test_as_of_that_is_not_a_time_is_an_input_error(write, written, problem):
    path = write(long_btc("20000", extra=f"as_of = {written}"))
    r = invoke("risk", path)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"mamcli: error: {path}: account.as_of: {problem}")


def test_header_folds_to_the_terminal_width(write, tmp_path, monkeypatch):
    write(long_btc("20000", extra="as_of = 2024-05-01T12:00:00Z"))
    monkeypatch.chdir(tmp_path)
    lines = invoke("risk", "p.toml", env={"COLUMNS": "80"}).stdout.splitlines()
    assert lines[:3] == [
        "mamcli risk · p.toml · as of 2024-05-01 12:00:00 UTC · multi-asset",  # 66 columns; 94 with the rest
        "  · rules binance · tier regular",  # the continuation of a folded header
        "",
    ]
    wide = invoke("risk", "p.toml", env={"COLUMNS": "200"}).stdout.splitlines()
    assert (
        wide[0] == "mamcli risk · p.toml · as of 2024-05-01 12:00:00 UTC · multi-asset · rules binance · tier regular"
    )


def test_import_writes_as_of(tmp_path):
    from conftest import ROOT

    payloads = ROOT / "tests" / "payloads"
    out = tmp_path / "imported.toml"
    r = invoke(
        "import",
        "--account",
        str(payloads / "account_v2.json"),
        "--positions",
        str(payloads / "positionRisk_v2.json"),
        "--index",
        str(payloads / "assetIndex.json"),
        "--brackets",
        str(payloads / "leverageBracket.json"),
        "-o",
        str(out),
    )
    assert r.exit_code == 0, r.stderr
    text = out.read_text()
    # the newest stamp: updateTime 1700000000000 ms = 1,700,000,000 s = 19,675 days (1970-01-01 + 19,675 days
    # = 2023-11-14) and 80,000 s (22:13:20); the rows with updateTime 0 are never-updated positions
    assert "# account.as_of 2023-11-14T22:13:20Z: the newest updateTime of the account response" in text
    assert "as_of = 2023-11-14 22:13:20+00:00\n" in text
    assert json.loads(invoke("ltv", str(out), "--json").stdout)["as_of"] == "2023-11-14T22:13:20Z"
    # exchangeInfo's serverTime 1715000000000 is newer: 1,715,000,000 s = 19,849 days (2024-05-06) + 46,400 s
    r = invoke(
        "import",
        "--account",
        str(payloads / "account_v2.json"),
        "--positions",
        str(payloads / "positionRisk_v2.json"),
        "--index",
        str(payloads / "assetIndex.json"),
        "--brackets",
        str(payloads / "leverageBracket.json"),
        "--exchange-info",
        str(payloads / "exchangeInfo.json"),
        "-o",
        "-",
    )
    assert "as_of = 2024-05-06 12:53:20+00:00\n" in r.stdout
    assert "the newest serverTime of the exchange info response" in r.stdout
