"""--live and --live-prices on the account commands (SPEC §9), against the fake Binance of test_sources."""

from __future__ import annotations

import json
from decimal import Decimal as D

from click.testing import CliRunner
from test_sources import FILE, KEY, SECRET, rest  # noqa: F401  (rest: the fake REST server fixture)

from mamcli.cli import main

ENV = {"MAMCLI_API_KEY": KEY, "MAMCLI_API_SECRET": SECRET, "MAMCLI_PORTFOLIO": None}


def invoke(*args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env=ENV if env is None else env)


def test_risk_live_reads_the_account_itself(rest):  # noqa: F811
    url, seen = rest()
    r = invoke("risk", "--live", "--base-url", url, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout, parse_float=D)
    # the recorded account (test_sources works it out): USDT 2,200 × 0.9999 + BTC 0.05 × 60,000 × 0.95
    assert doc["equity_usd"] == D("5049.78") and doc["maint_margin_usd"] == D("54.0054")  # 54 × 1.0001
    assert (doc["source"], doc["as_of"]) == ("live", "2024-05-06T12:53:20Z")  # exchangeInfo's serverTime
    assert [p["symbol"] for p in doc["positions"]] == ["BTCUSDT", "ETHUSDT"]
    assert SECRET not in r.stdout + r.stderr + " ".join(p for _, p, _ in seen)


def test_options_of_the_live_source_go_before_or_after_the_command(rest):  # noqa: F811
    url, _ = rest()
    before = invoke("--live", "--base-url", url, "equity", "--json")
    after = invoke("equity", "--json", "--live", "--base-url", url)
    assert before.exit_code == after.exit_code == 0, before.stderr
    assert before.stdout == after.stdout


def test_live_prices_refresh_a_file(rest, tmp_path):  # noqa: F811
    url, seen = rest()
    path = tmp_path / "p.toml"
    path.write_text(FILE)
    r = invoke("--live-prices", "risk", str(path), "--base-url", url, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout, parse_float=D)
    # test_sources: BTCUSDT mark 61,000 from premiumIndex → USDT 3,200 × 0.9999 + BTC 5,700 + USDC 499.90
    assert doc["equity_usd"] == D("9399.58")
    assert (doc["source"], doc["as_of"]) == ("file+live-prices", "2023-11-14T22:13:21Z")
    assert any("SOLUSDT" in a and "premiumIndex" in a for a in doc["assumptions"])  # not covered: named
    assert all("X-MBX-APIKEY" not in h for _, _, h in seen)  # public: no key needed
    assert invoke("--live-prices", "risk", str(path), "--base-url", url, "--json", env={}).exit_code == 0


def test_check_live_and_its_age(rest):  # noqa: F811
    url, _ = rest()
    r = invoke("check", "--live", "--base-url", url)
    assert r.stdout.startswith("MAMCLI ") and r.exit_code in (0, 1, 2), r.stdout
    stale = invoke("check", "--live", "--base-url", url, "--max-age", "60")  # the data are from 2024
    assert stale.exit_code == 3 and stale.stdout.startswith("MAMCLI UNKNOWN")


def test_live_source_misuse_is_a_usage_error(rest, tmp_path):  # noqa: F811
    url, _ = rest()
    path = tmp_path / "p.toml"
    path.write_text(FILE)
    r = invoke("risk", str(path), "--live", "--base-url", url)
    assert r.exit_code == 2 and "--live reads the account from Binance; give no PORTFOLIO with it" in r.stderr
    r = invoke("risk", str(path), "--base-url", url)
    assert r.exit_code == 2 and "--base-url goes with --live or --live-prices" in r.stderr
    r = invoke("risk", "--live", "--live-prices", "--base-url", url)
    assert r.exit_code == 2 and "give one" in r.stderr


def test_live_needs_https_away_from_loopback():
    r = invoke("risk", "--live", "--base-url", "http://example.com")
    assert r.exit_code == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1


def test_live_options_without_a_live_source_are_usage_errors():
    from conftest import sample

    for option, value, text in (
        ("--ws-url", "wss://fstream.binance.com", "--ws-url goes with watch"),
        ("--timeout", "5", "--timeout goes with --live or --live-prices"),
        ("--base-url", "https://fapi.binance.com", "--base-url goes with --live or --live-prices"),
    ):
        r = invoke("risk", sample("hedged.toml"), option, value)
        assert r.exit_code == 2 and r.stdout == "" and text in r.stderr, option


def test_import_keeps_the_tier_and_rules_it_was_given():
    from conftest import ROOT

    pay = ROOT / "tests" / "payloads"
    args = ["--account", str(pay / "account_v2.json"), "--index", str(pay / "assetIndex.json")]
    args += ["--brackets", str(pay / "leverageBracket.json")]
    r = invoke("--tier", "vip3", "import", *args, "--rules", "binance")
    assert r.exit_code == 0, r.stderr
    assert 'tier = "vip3"' in r.stdout and 'rules = "binance"' in r.stdout
