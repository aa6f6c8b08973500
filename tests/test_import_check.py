"""Real data in, alerts out: import (files and live), check, init, rules, MAMCLI_PORTFOLIO."""

import hashlib
import hmac
import json
import threading
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner
from conftest import sample

from mamcli import engine
from mamcli.cli import main
from mamcli.portfolio import load_portfolio

PAYLOADS = Path(__file__).parent / "payloads"
FILES_V2 = [
    "--account",
    str(PAYLOADS / "account_v2.json"),
    "--positions",
    str(PAYLOADS / "positionRisk_v2.json"),
    "--index",
    str(PAYLOADS / "assetIndex.json"),
    "--brackets",
    str(PAYLOADS / "leverageBracket.json"),
    "--mode",
    str(PAYLOADS / "multiAssetsMargin.json"),
]


def invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env)


# ------------------------------------------------------------------------------------------ import from files


def test_import_v2_reproduces_the_account_totals(tmp_path):
    out = tmp_path / "p.toml"
    r = invoke("import", *FILES_V2, "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert "totalMarginBalance 5049.78000000 agrees" in r.stderr
    assert "totalMaintMargin 54.00540000 agrees" in r.stderr
    pf = load_portfolio(str(out))
    acct = engine.account(pf)
    # the payload's totals: 2,200 × 0.9999 + 0.05 × 57,000 = 5,049.78; (24 + 30) × 1.0001 = 54.0054
    assert acct.equity_usd == D("5049.78") and acct.maint_margin_usd == D("54.0054")
    assert pf.mode == "multi-asset"
    assert [p.symbol for p in pf.positions] == ["BTCUSDT", "ETHUSDT"]  # the flat XRPUSDT row is skipped
    assert [(p.side_name, p.quantity, p.leverage) for p in pf.positions] == [("long", D("0.1"), 10), ("short", 2, 10)]
    assert set(pf.assets) == {"USDT", "BTC"}  # BNB at 0 is left out
    assert any("open_orders not given" in a for a in pf.assumptions)  # not in the payloads


def _payload(name):
    return json.loads((PAYLOADS / name).read_text(), parse_float=D)


def test_payload_totals_worked_out_by_hand_from_their_own_rows():
    """The account fixture's totals follow from its rows and the other payloads, per Binance's definitions
    for Multi-Assets mode (SPEC §1, §7), computed here without mamcli; the figures are written out:

    rates (assetIndex): USDT bid 1 × (1 − 0.0001) = 0.9999, ask 1.0001; BTC bid 60,000 × 0.95 = 57,000, ask 63,000
    positions (positionRisk): BTCUSDT +0.1, entry 63,000, mark 60,000: notional 6,000, uPnL −300,
      IM 6,000 / 10 = 600, MM 6,000 × 0.004 − 0 = 24 (bracket 1: 0 ≤ 6,000 < 50,000);
      ETHUSDT −2, entry 3,250, mark 3,000: notional 6,000, uPnL −2 × (3,000 − 3,250) = +500,
      IM 600, MM 6,000 × 0.005 − 0 = 30 (bracket 1: < 10,000)
    USDT: wallet 2,000, uPnL 200, margin balance 2,200, maint 54, initial 1,200; BTC: wallet 0.05, no uPnL
    totalWalletBalance    = 2,000 × 0.9999 + 0.05 × 57,000 = 1,999.8 + 2,850 = 4,849.8
    totalUnrealizedProfit = 200 × 0.9999 = 199.98
    totalMarginBalance    = 2,200 × 0.9999 + 0.05 × 57,000 = 2,199.78 + 2,850 = 5,049.78
    totalMaintMargin      = (24 + 30) × 1.0001 = 54.0054
    totalInitialMargin    = (600 + 600) × 1.0001 = 1,200.12
    availableBalance      = 5,049.78 − 1,200.12 = 3,849.66 (= maxWithdrawAmount here)
    assets[].availableBalance: USDT 3,849.66 / 1.0001 = 3,849.27507249…, BTC 3,849.66 / 63,000 = 0.06110571…
    """
    account = _payload("account_v2.json")
    index = {row["symbol"][:-3]: row for row in _payload("assetIndex.json")}
    risk = {row["symbol"]: row for row in _payload("positionRisk_v2.json") if D(row["positionAmt"]) != 0}
    brackets = {row["symbol"]: row["brackets"] for row in _payload("leverageBracket.json")}
    for asset, row in index.items():  # the index rows are consistent with themselves
        assert D(row["bidRate"]) == D(row["index"]) * (1 - D(row["bidBuffer"])), asset
        assert D(row["askRate"]) == D(row["index"]) * (1 + D(row["askBuffer"])), asset
    assert (D(index["USDT"]["bidRate"]), D(index["BTC"]["bidRate"])) == (D("0.9999"), D(57000))

    upnl = maint = initial = D(0)
    for symbol, row in risk.items():
        amount, entry, mark = D(row["positionAmt"]), D(row["entryPrice"]), D(row["markPrice"])
        notional = abs(amount) * mark
        assert D(row["notional"]) == amount * mark and D(row["unRealizedProfit"]) == amount * (mark - entry)
        bracket = next(b for b in brackets[symbol] if D(b["notionalFloor"]) <= notional < D(b["notionalCap"]))
        upnl += amount * (mark - entry)
        maint += notional * D(bracket["maintMarginRatio"]) - D(bracket["cum"])
        initial += notional / D(row["leverage"])
    assert (upnl, maint, initial) == (200, 54, 1200)

    rows = {row["asset"]: row for row in account["assets"]}
    usdt, btc = rows["USDT"], rows["BTC"]
    assert D(usdt["unrealizedProfit"]) == upnl and D(usdt["marginBalance"]) == D(usdt["walletBalance"]) + upnl
    assert (D(usdt["maintMargin"]), D(usdt["initialMargin"])) == (maint, initial)

    def usd(asset, amount):  # a balance at the bid rate, a debt at the ask rate (SPEC §1 collateral_usd)
        return amount * D(index[asset]["bidRate" if amount >= 0 else "askRate"])

    margin_balance = usd("USDT", D(usdt["marginBalance"])) + usd("BTC", D(btc["marginBalance"]))
    wallet = usd("USDT", D(usdt["walletBalance"])) + usd("BTC", D(btc["walletBalance"]))
    maint_usd = maint * D(index["USDT"]["askRate"])
    initial_usd = initial * D(index["USDT"]["askRate"])
    assert (margin_balance, wallet, maint_usd, initial_usd) == (D("5049.78"), D("4849.8"), D("54.0054"), D("1200.12"))
    assert D(account["totalMarginBalance"]) == margin_balance
    assert D(account["totalWalletBalance"]) == wallet
    assert D(account["totalUnrealizedProfit"]) == usd("USDT", upnl) == D("199.98")
    assert D(account["totalMaintMargin"]) == maint_usd
    assert D(account["totalInitialMargin"]) == initial_usd
    assert D(account["availableBalance"]) == margin_balance - initial_usd == D("3849.66")
    assert D(usdt["availableBalance"]) == round(D("3849.66") / D("1.0001"), 8) == D("3849.27507249")
    assert D(btc["availableBalance"]) == round(D("3849.66") / 63000, 8) == D("0.06110571")
    # the account's own position rows say the same
    for row in account["positions"]:
        if row["symbol"] in risk:
            assert D(row["unrealizedProfit"]) == D(risk[row["symbol"]]["unRealizedProfit"])
    # positionRisk's liquidationPrice is not read by import; the BTC one is SPEC §6's multi-asset price
    # (BTC collateral falling with the mark, USDT negative below 38,000 so at the ask 1.0001):
    # 1.0001(0.1 m − 3,800) + 0.0475 m − 1.0001(0.0004 m + 30) = 0 → m = 3,830.383 / 0.14710996 = 26,037.55…
    assert round(D("3830.383") / D("0.14710996"), 8) == D(risk["BTCUSDT"]["liquidationPrice"])


def test_import_agrees_with_the_hand_totals_and_says_when_it_does_not(tmp_path):
    r = invoke("import", *FILES_V2, "-o", "-")
    assert r.exit_code == 0, r.stderr
    # 5,049.78 and 54.0054 worked out above from the payloads' rows; mamcli reaches them from the file it wrote
    assert r.stderr == (
        "mamcli: import: equity 5,049.78 USD, maintenance 54.01 USD; totalMarginBalance 5049.78000000 agrees; "
        "totalMaintMargin 54.00540000 agrees\n"
    )
    # a payload whose totals are before haircuts (2,200 + 0.05 × 60,000 = 5,200; 54 without the ask buffer)
    account = json.loads((PAYLOADS / "account_v2.json").read_text())
    account.update(totalMarginBalance="5200.00000000", totalMaintMargin="54.00000000")
    (tmp_path / "account.json").write_text(json.dumps(account))
    files = [str(tmp_path / "account.json") if f.endswith("account_v2.json") else f for f in FILES_V2]
    r = invoke("import", *files, "-o", "-")
    assert r.exit_code == 0
    assert (
        "totalMarginBalance 5200.00000000 DIFFERS from mamcli's 5049.78000000 (check prices and haircuts)" in r.stderr
    )
    # 54.00 against mamcli's 54 × 1.0001 = 54.0054: beyond one unit in the 8th decimal, so it differs too
    assert "totalMaintMargin 54.00000000 DIFFERS from mamcli's 54.00540000" in r.stderr


def test_import_v3_hedge_mode_matches_v2(tmp_path):
    files = [
        "--account",
        str(PAYLOADS / "account_v2.json"),
        "--positions",
        str(PAYLOADS / "positionRisk_v3_hedge.json"),
        "--index",
        str(PAYLOADS / "assetIndex.json"),
        "--brackets",
        str(PAYLOADS / "leverageBracket.json"),
    ]
    r = invoke("import", *files, "-o", "-")
    assert r.exit_code == 0, r.stderr
    v3 = r.stdout.replace('margin_asset = "USDT"\n', "")  # v3 names the margin asset
    v2 = invoke("import", *FILES_V2, "-o", "-").stdout
    assert v3 == v2  # LONG/SHORT rows, leverage from positionInitialMargin (6,000 / 600 = 10)


def test_import_never_overwrites_without_force(tmp_path):
    out = tmp_path / "p.toml"
    out.write_text("mine")
    r = invoke("import", *FILES_V2, "-o", str(out))
    assert r.exit_code == 2 and r.stderr == f"mamcli: error: {out}: already exists; use --force to overwrite it\n"
    assert out.read_text() == "mine"
    assert invoke("import", *FILES_V2, "-o", str(out), "--force").exit_code == 0
    assert out.read_text().startswith("# Imported by `mamcli import`")
    assert [p.name for p in tmp_path.iterdir()] == ["p.toml"]  # no temporary file left


def test_every_command_works_on_an_import(tmp_path):
    out = tmp_path / "p.toml"
    invoke("import", *FILES_V2, "-o", str(out))
    for command in ("equity", "risk", "ltv", "autoexchange", "switch-check"):
        r = invoke(command, str(out), "--json")
        assert r.exit_code in (0, 1) and json.loads(r.stdout)["command"] == command


def test_missing_price_needs_an_explicit_price(tmp_path):
    index = [row for row in json.loads((PAYLOADS / "assetIndex.json").read_text()) if row["symbol"] != "BTCUSD"]
    (tmp_path / "index.json").write_text(json.dumps(index))
    files = [f if "assetIndex" not in f else str(tmp_path / "index.json") for f in FILES_V2]
    r = invoke("import", *files)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == (
        f"mamcli: error: {tmp_path / 'index.json'}: BTC: no BTCUSD row in the asset index, so no "
        "price for BTC; give --price BTC=VALUE\n"
    )
    r = invoke("--price", "BTC=60000", "import", *files)
    assert r.exit_code == 0 and "price = 60000" in r.stdout


@pytest.mark.parametrize(
    "name, content, option, message",
    [
        ("garbage.json", "{not json", "--account", "garbage.json: not JSON: Expecting property name"),
        (
            "index-as-account.json",
            None,
            "--account",
            "does not look like GET /fapi/v2/account (expected an 'assets' list)",
        ),
        ("no-mark.json", "no-mark", "--positions", "[0].markPrice: missing"),
        ("bad-number.json", "bad-number", "--positions", "[0].positionAmt: expected a number, got the text 'lots'"),
        ("mode.json", '{"multiAssets": true}', "--mode", "multiAssetsMargin: missing"),
    ],
)
def test_bad_payloads(tmp_path, name, content, option, message):
    path = tmp_path / name
    rows = json.loads((PAYLOADS / "positionRisk_v2.json").read_text())
    if content is None:
        path.write_text((PAYLOADS / "assetIndex.json").read_text())
    elif content == "no-mark":
        del rows[0]["markPrice"]
        path.write_text(json.dumps(rows))
    elif content == "bad-number":
        rows[0]["positionAmt"] = "lots"
        path.write_text(json.dumps(rows))
    else:
        path.write_text(content)
    args = list(FILES_V2)
    args[args.index(option) + 1] = str(path)
    r = invoke("import", *args)
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert message in r.stderr and str(path) in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_import_without_brackets_says_which_payload_is_missing():
    r = invoke("import", *FILES_V2[:6])
    assert r.exit_code == 2 and r.stderr.splitlines() == [
        f"mamcli: error: import: {s}: no leverage brackets for this position's symbol; give --brackets (the saved "
        "body of GET /fapi/v1/leverageBracket) covering it"
        for s in ("BTCUSDT", "ETHUSDT")
    ]


def test_import_without_account():
    r = invoke("import", "--index", str(PAYLOADS / "assetIndex.json"))
    assert r.exit_code == 2 and "--account is required" in r.stderr


# ------------------------------------------------------------------------------------------ import --live

KEY, SECRET = "test-key-123", "test-secret-456"
ROUTES = {
    "/fapi/v2/account": "account_v2.json",
    "/fapi/v2/positionRisk": "positionRisk_v2.json",
    "/fapi/v1/assetIndex": "assetIndex.json",
    "/fapi/v1/leverageBracket": "leverageBracket.json",
    "/fapi/v1/multiAssetsMargin": "multiAssetsMargin.json",
    "/fapi/v1/exchangeInfo": "exchangeInfo.json",
}
PUBLIC = {"/fapi/v1/assetIndex", "/fapi/v1/exchangeInfo"}


class FakeBinance(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        FakeBinance.seen.append(self.path)
        if url.path not in ROUTES:
            return self._send(404, {"code": -5000, "msg": "Path not found"})
        if url.path not in PUBLIC:
            if self.headers.get("X-MBX-APIKEY") != KEY:
                return self._send(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
            query, _, signature = url.query.rpartition("&signature=")
            expected = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            if "timestamp" not in dict(parse_qsl(query)) or signature != expected:
                return self._send(400, {"code": -1022, "msg": "Signature for this request is not valid."})
        self._send(200, (PAYLOADS / ROUTES[url.path]).read_bytes())


@pytest.fixture
def fake_binance():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBinance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeBinance.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_live_import_signs_its_requests(fake_binance, tmp_path):
    out = tmp_path / "live.toml"
    env = {"MAMCLI_API_KEY": KEY, "MAMCLI_API_SECRET": SECRET}
    r = invoke("import", "--live", "--base-url", fake_binance, "-o", str(out), env=env)
    assert r.exit_code == 0, r.stderr
    # the live import is the saved-file import of the same six responses (exchangeInfo included)
    saved = invoke("import", *FILES_V2, "--exchange-info", str(PAYLOADS / "exchangeInfo.json"), "-o", "-")
    assert out.read_text() == saved.stdout.replace(str(PAYLOADS / "exchangeInfo.json"), "GET /fapi/v1/exchangeInfo")
    assert len(FakeBinance.seen) == 6
    assert SECRET not in r.stdout + r.stderr + out.read_text() + " ".join(FakeBinance.seen)


def test_live_import_wrong_secret_shows_binance_error(fake_binance):
    env = {"MAMCLI_API_KEY": KEY, "MAMCLI_API_SECRET": "wrong"}
    r = invoke("import", "--live", "--base-url", fake_binance, env=env)
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "mamcli: error: GET /fapi/v2/account: Binance error -1022: Signature for this request is not valid.\n"
    )


def test_live_import_wrong_key(fake_binance):
    env = {"MAMCLI_API_KEY": "nope", "MAMCLI_API_SECRET": SECRET}
    r = invoke("import", "--live", "--base-url", fake_binance, env=env)
    assert r.exit_code == 2 and "Binance error -2015" in r.stderr


def test_live_import_needs_both_variables():
    r = invoke("import", "--live", env={"MAMCLI_API_KEY": KEY, "MAMCLI_API_SECRET": None})
    assert r.exit_code == 2 and r.stderr == (
        "mamcli: error: --live: MAMCLI_API_SECRET not set (the key and secret are read from the environment only)\n"
    )


def test_live_import_network_failure():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"MAMCLI_API_KEY": KEY, "MAMCLI_API_SECRET": SECRET}
    r = invoke("import", "--live", "--base-url", f"http://127.0.0.1:{port}", env=env)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("mamcli: error: GET /fapi/v2/account: cannot reach the server")


# ------------------------------------------------------------------------------------------ check

NO_LIQ = ["--liq-warn", "0", "--liq-crit", "0"]


@pytest.mark.parametrize(
    "name, args, code, line",
    [
        (
            "hedged.toml",
            [],
            0,
            "MAMCLI OK - margin ratio 1.07% (green), equity 5049.78 USD | "
            "margin_ratio=1.07%;50;80;0;100 equity_usd=5049.78 maint_margin_usd=54.01",
        ),
        (
            "red-band.toml",
            [],
            2,
            # the margin ratio first (CRITICAL, and first in the order of findings), then the least liquidation shock
            "MAMCLI CRITICAL - margin ratio 87.22% (red), equity 5389.00 USD; liquidation distance 0.11% (BTC down) | "
            "margin_ratio=87.22%;50;80;0;100 equity_usd=5389.00 maint_margin_usd=4700.47",
        ),
        # the margin ratio alone: the liquidation distance alarm switched off
        ("red-band.toml", ["-w", "80", "-c", "90", *NO_LIQ], 1, "MAMCLI WARNING - margin ratio 87.22% (red)"),
        ("red-band.toml", ["-w", "@80:90", "-c", "95", *NO_LIQ], 1, "MAMCLI WARNING"),  # inside 80…90
        ("red-band.toml", ["-w", "~:95", "-c", "~:99", *NO_LIQ], 0, "MAMCLI OK"),
        ("hedged.toml", ["-w", "5:", "-c", "1:"], 1, "MAMCLI WARNING"),  # below 5 %
    ],
)
def test_check_statuses(name, args, code, line):
    r = invoke("check", sample(name), *args)
    assert r.exit_code == code
    assert r.stdout.startswith(line) and r.stdout.count("\n") == 1


def test_check_unbounded_ratio_is_critical(write):
    path = write("""
        [assets.USDT]
        balance = 10
        price = 1
        [[positions]]
        symbol = "BTCUSDT"
        side = "long"
        quantity = 1
        entry_price = 100
        mark_price = 50
        maint_margin_rate = 0.01
    """)
    r = invoke("check", path)
    assert r.exit_code == 2 and "margin ratio unbounded (liquidation)" in r.stdout and "margin_ratio=U;" in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.toml"], "MAMCLI UNKNOWN - nope.toml: no such file"),
        ([sample("hedged.toml"), "-w", "abc"], "MAMCLI UNKNOWN - range 'abc': expected a number"),
        ([sample("hedged.toml"), "-w", "20:10"], "MAMCLI UNKNOWN - range '20:10': start is above end"),
        ([], "MAMCLI UNKNOWN - Missing argument 'PORTFOLIO'."),
        ([sample("hedged.toml"), "--bogus"], "MAMCLI UNKNOWN - No such option '--bogus'"),
    ],
)
def test_check_unknown(args, message):
    r = invoke("check", *args, env={"MAMCLI_PORTFOLIO": None})
    assert r.exit_code == 3 and r.stdout.startswith(message)


# ------------------------------------------------------------------------------------------ init, rules, env


def test_init_writes_a_starter_that_works(tmp_path):
    path = tmp_path / "portfolio.toml"
    r = invoke("init", str(path))
    assert r.exit_code == 0 and r.stderr == f"mamcli: wrote {path}; edit it, then run: mamcli risk {path}\n"
    assert "# " in path.read_text()
    risk = invoke("risk", str(path), "--json")
    assert risk.exit_code == 0 and json.loads(risk.stdout)["band"] == "green"
    again = invoke("init", str(path))
    assert again.exit_code == 2 and "already exists; use --force" in again.stderr
    assert invoke("init", str(path), "--force").exit_code == 0


def test_init_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0 and (tmp_path / "portfolio.toml").exists()


def test_rules_list_and_show():
    r = invoke("rules")
    assert r.exit_code == 0 and "seed" in r.stdout and "binance" in r.stdout
    r = invoke("rules", "binance-2025")  # the former name of binance
    assert "vip2" in r.stdout and "-10,000 USDT, -10,000 USDC, -5,000 BNFCR, -0.1 BTC, -5 ETH, -10 BNB" in r.stdout
    doc = json.loads(invoke("rules", "seed", "--json").stdout, parse_float=D)
    assert doc["profiles"][0]["tiers"][1] == {"name": "vip", "threshold_usd": -5000, "thresholds": {}}
    assert invoke("rules", "nope").exit_code == 2


def test_portfolio_from_the_environment():
    r = invoke("risk", "--json", env={"MAMCLI_PORTFOLIO": sample("red-band.toml")})
    assert r.exit_code == 1 and json.loads(r.stdout)["band"] == "red"
    r = invoke("check", env={"MAMCLI_PORTFOLIO": sample("hedged.toml")})
    assert r.exit_code == 0 and r.stdout.startswith("MAMCLI OK")


def test_payload_fields_of_the_wrong_type_are_input_errors(tmp_path):
    # found by tests/test_fuzz.py: a list where a symbol belongs used to end in TypeError
    bad = tmp_path / "brackets.json"
    bad.write_text('{"symbol": []}')
    args = list(FILES_V2)
    args[args.index("--brackets") + 1] = str(bad)
    r = invoke("import", *args)
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert f"{bad}: BTCUSDT: no leverage brackets for this position's symbol; give --brackets" in r.stderr
    rows = json.loads((PAYLOADS / "positionRisk_v2.json").read_text())
    rows[0]["positionSide"] = ["LONG"]
    bad.write_text(json.dumps(rows))
    args = list(FILES_V2)
    args[args.index("--positions") + 1] = str(bad)
    r = invoke("import", *args)
    assert r.exit_code == 2 and "[0].positionSide: expected BOTH, LONG or SHORT" in r.stderr
