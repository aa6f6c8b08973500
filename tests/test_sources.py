"""mamcli.sources: the live account, --live-prices and WebSocket frames applied to a Portfolio (SPEC §9).

The REST server here is a local fake Binance on 127.0.0.1 serving the recorded payloads of tests/payloads;
every expected figure is worked out by hand in the test."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mamcli import sources, stamps
from mamcli.model import InputError
from mamcli.netclient import Client
from mamcli.portfolio import load_portfolio, load_text
from mamcli.valuation import account

PAYLOADS = Path(__file__).parent / "payloads"
KEY, SECRET = "test-key-123", "test-secret-456"
ROUTES = {
    "/fapi/v2/account": "account_v2.json",
    "/fapi/v2/positionRisk": "positionRisk_v2.json",
    "/fapi/v1/assetIndex": "assetIndex.json",
    "/fapi/v1/leverageBracket": "leverageBracket.json",
    "/fapi/v1/multiAssetsMargin": "multiAssetsMargin.json",
    "/fapi/v1/exchangeInfo": "exchangeInfo.json",
    "/fapi/v1/premiumIndex": "premiumIndex.json",
}
FIXED_DATE = "Wed, 01 May 2024 10:00:00 GMT"

Answer = Callable[[str, str, int], tuple[int, bytes]]


def recorded(method: str, path: str, n: int) -> tuple[int, bytes]:
    """The recorded payload of a path (n: how many times this path was asked before, 0 the first)."""
    if path == "/fapi/v1/listenKey":
        return 200, b'{"listenKey": "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}'
    if path in ROUTES:
        return 200, (PAYLOADS / ROUTES[path]).read_bytes()
    return 404, b'{"code": -5000, "msg": "Path not found"}'


class FakeBinance(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return FIXED_DATE  # a known Date header (as_of falls back to it)

    def do_GET(self) -> None:
        server = self.server
        path = self.path.split("?")[0]
        seen = server.seen  # type: ignore[attr-defined]
        n = sum(1 for m, p, _ in seen if m == self.command and p.split("?")[0] == path)
        seen.append((self.command, self.path, dict(self.headers.items())))
        status, body = server.answer(self.command, path, n)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_GET


@pytest.fixture
def rest() -> Iterator[Callable[..., tuple[str, list[tuple[str, str, dict[str, str]]]]]]:
    """start(answer=recorded) → (base URL, the requests seen: (method, path with query, headers))."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer = recorded) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBinance)
        server.seen = []  # type: ignore[attr-defined]
        server.answer = answer  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ live_portfolio


def test_live_portfolio_is_the_imported_account_plus_exchange_info(rest):
    url, seen = rest()
    pf, as_of = sources.live_portfolio(Client(url, 5, KEY, SECRET))
    acct = account(pf)
    # USDT: wallet 2000 + uPnL (0.1 × (60000 − 63000) = −300, −2 × (3000 − 3250) = +500) = 2200 at bid 0.9999
    # BTC: 0.05 × 60000 × (1 − 0.05) = 2850
    assert acct.equity_usd == Decimal("2200") * Decimal("0.9999") + Decimal("2850")  # 5049.78
    # maintenance: BTCUSDT 6000 × 0.004 = 24, ETHUSDT 6000 × 0.005 = 30, at the USDT ask rate 1.0001
    assert acct.maint_margin_usd == (Decimal(24) + Decimal(30)) * Decimal("1.0001")
    # exchangeInfo: BTC's threshold −0.1 BTC, liquidation fees 0.0125 and 0.015
    assert pf.tier.thresholds["BTC"] == Decimal("-0.1")
    fees = {p.symbol: p.liquidation_fee for p in pf.positions}
    assert fees == {"BTCUSDT": Decimal("0.0125"), "ETHUSDT": Decimal("0.015")}
    # as_of: the newest stamp is exchangeInfo's serverTime 1715000000000 ms (date -u -d @1715000000)
    assert as_of == utc(2024, 5, 6, 12, 53, 20)
    assert pf.source == "<live account>"
    paths = [p.split("?")[0] for _, p, _ in seen]
    assert "/fapi/v1/exchangeInfo" in paths and "/fapi/v2/account" in paths
    for _method, path, headers in seen:  # the public exchangeInfo carries neither key nor signature
        if path.startswith("/fapi/v1/exchangeInfo"):
            assert "X-MBX-APIKEY" not in headers and "signature" not in path


def test_live_portfolio_errors_are_input_errors(rest):
    url, _ = rest(lambda m, p, n: (401, b'{"code": -2015, "msg": "Invalid API-key, IP, or permissions"}'))
    with pytest.raises(InputError) as e:
        sources.live_portfolio(Client(url, 5, KEY, SECRET))
    assert e.value.problems == ["GET /fapi/v2/account: Binance error -2015: Invalid API-key, IP, or permissions"]


# ------------------------------------------------------------------------------------------ refresh_prices

FILE = """\
[account]
mode = "multi-asset"
tier = "regular"

[assets.USDT]
balance = 1000
price = 1
haircut = 0
ask_buffer = 0

[assets.BTC]
balance = 0.1
price = 50000
haircut = 0.1

[assets.USDC]
balance = 500
price = 1
haircut = 0.0002

[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 0.2
entry_price = 50000
mark_price = 50000
maint_margin_rate = 0.01

[[positions]]
symbol = "SOLUSDT"
side = "long"
quantity = 10
entry_price = 100
mark_price = 100
maint_margin_rate = 0.01
"""


def test_refresh_prices_worked_by_hand(rest):
    url, seen = rest()
    pf = load_text(FILE, "p.toml")
    new, as_of, notes = sources.refresh_prices(pf, Client(url, 5))
    # marks: BTCUSDT 61000 from premiumIndex; SOLUSDT not in it: the file's 100 kept, and named
    assert [p.mark_price for p in new.positions] == [Decimal(61000), Decimal(100)]
    # index: USDT 1 with buffers 0.0001 (live wins over the file's 0), BTC 60000 at 0.05; USDC has no row
    assert (new.assets["USDT"].price, new.assets["USDT"].haircut) == (Decimal(1), Decimal("0.0001"))
    assert (new.assets["BTC"].price, new.assets["BTC"].haircut, new.assets["BTC"].ae_haircut) == (
        Decimal(60000),
        Decimal("0.05"),
        Decimal("0.025"),
    )
    assert new.assets["USDC"] == pf.assets["USDC"]
    # equity: USDT (1000 + 0.2 × (61000 − 50000) = 3200) × 0.9999 = 3199.68; BTC 0.1 × 60000 × 0.95 = 5700;
    # USDC 500 × 0.9998 = 499.90; total 9399.58
    assert account(new).equity_usd == Decimal("9399.58")
    assert any("SOLUSDT" in n and "premiumIndex" in n for n in notes)
    assert any("USDC" in n and "assetIndex" in n for n in notes)
    assert all(n in new.assumptions for n in notes)
    # as_of: the newest stamp, premiumIndex's BTCUSDT time 1700000001000 ms (2023-11-14T22:13:21Z)
    assert as_of == utc(2023, 11, 14, 22, 13, 21)
    assert all("X-MBX-APIKEY" not in h and "signature" not in p for _, p, h in seen)  # public, unsigned


def test_refresh_prices_without_stamps_takes_the_date_header(rest):
    def answer(method: str, path: str, n: int) -> tuple[int, bytes]:
        if path == "/fapi/v1/premiumIndex":
            return 200, b'{"symbol": "BTCUSDT", "markPrice": "51000"}'  # one symbol: an object, no time
        if path == "/fapi/v1/assetIndex":
            return 200, b'[{"symbol": "BTCUSD", "index": "50500", "bidBuffer": "0.05"}]'
        return 404, b"{}"

    url, _ = rest(answer)
    new, as_of, notes = sources.refresh_prices(load_text(FILE, "p.toml"), Client(url, 5))
    assert as_of == utc(2024, 5, 1, 10, 0, 0)  # FIXED_DATE
    assert new.positions[0].mark_price == Decimal(51000)
    assert new.assets["BTC"].price == Decimal(50500) and new.assets["BTC"].haircut == Decimal("0.05")
    assert new.assets["BTC"].ask_buffer == pf_ask(FILE, "BTC")  # not in the row: the file's kept
    assert any("BTC: some buffers missing" in n for n in notes)


def pf_ask(text: str, asset: str) -> Decimal:
    return load_text(text, "p.toml").assets[asset].ask_buffer


def test_refresh_prices_refuses_nan_and_a_zero_mark(rest):
    url, _ = rest(lambda m, p, n: (200, b'[{"symbol": "BTCUSDT", "markPrice": NaN}]'))
    with pytest.raises(InputError) as e:
        sources.refresh_prices(load_text(FILE, "p.toml"), Client(url, 5))
    assert "GET /fapi/v1/premiumIndex" in e.value.problems[0] and "NaN" in e.value.problems[0]
    url, _ = rest(lambda m, p, n: (200, b'[{"symbol": "BTCUSDT", "markPrice": "0"}]'))
    with pytest.raises(InputError) as e:
        sources.refresh_prices(load_text(FILE, "p.toml"), Client(url, 5))
    assert e.value.problems == ["GET /fapi/v1/premiumIndex: BTCUSDT.markPrice: must be greater than 0 (got 0)"]


# ------------------------------------------------------------------------------------------ frames


@pytest.fixture
def pf(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(FILE))
    return load_portfolio(str(path))


def test_mark_frame(pf):
    frame = sources.decode_frame(
        '{"e":"markPriceUpdate","E":1700000001000,"s":"BTCUSDT","p":"52000.5","i":"51990","r":"0.0001"}', "market"
    )
    new = sources.apply_mark(pf, frame)
    assert new.positions[0].mark_price == Decimal("52000.5") and new.positions[1] == pf.positions[1]
    assert pf.positions[0].mark_price == Decimal(50000)  # records are immutable: the old state is untouched
    # unrealized PnL 0.2 × 2000.5 = 400.1 on top of the 1000 USDT wallet, at bid rate 1 (haircut 0)
    assert account(new).upnl["USDT"] == Decimal("400.1")
    assert sources.apply_mark(pf, {"e": "markPriceUpdate", "s": "XRPUSDT", "p": "1"}) == pf


def test_asset_index_frame(pf):
    frame = sources.decode_frame(
        '[{"e":"assetIndexUpdate","E":1,"s":"BTCUSD","i":"40000","b":"0.06","a":"0.07","B":"37600","A":"42800",'
        '"q":"0.03","g":"0.04","Q":"38800","G":"41600"},{"s":"ETHUSD","i":"2000","b":"0.05"}]',
        "assetIndex",
    )
    btc = sources.apply_asset_index(pf, frame).assets["BTC"]
    assert (btc.price, btc.haircut, btc.ask_buffer, btc.ae_haircut, btc.ae_ask_buffer) == tuple(
        Decimal(x) for x in ("40000", "0.06", "0.07", "0.03", "0.04")
    )
    # BTC collateral 0.1 × 40000 × (1 − 0.06) = 3760 (was 0.1 × 50000 × 0.9 = 4500)
    assert btc.balance * btc.bid_rate == Decimal(3760)


def test_account_update_replaces_what_it_names(pf):
    frame = {
        "e": "ACCOUNT_UPDATE",
        "E": 1700000010000,
        "a": {
            "m": "AUTO_EXCHANGE",
            "B": [{"a": "USDT", "wb": "1200", "cw": "1150"}, {"a": "BNB", "wb": "0", "cw": "0"}],
            "P": [
                {"s": "BTCUSDT", "pa": "0.3", "ep": "51000", "up": "-300", "mt": "cross", "iw": "0", "ps": "BOTH"},
                {"s": "SOLUSDT", "pa": "0", "ep": "0", "up": "0", "mt": "cross", "iw": "0", "ps": "BOTH"},
            ],
        },
    }
    new = sources.apply_account_update(pf, frame)
    assert new.assets["USDT"].balance == Decimal(1150)  # the cross wallet, not wb
    assert "BNB" not in new.assets  # a zero balance of an asset not held changes nothing
    assert [(p.symbol, p.quantity, p.entry_price, p.mark_price) for p in new.positions] == [
        ("BTCUSDT", Decimal("0.3"), Decimal(51000), Decimal(50000))  # the mark stays the stream's; SOLUSDT closed
    ]
    # USDT margin balance 1150 + 0.3 × (50000 − 51000) = 850, haircut 0; BTC 0.1 × 50000 × 0.9 = 4500;
    # USDC 500 × 0.9998 = 499.9: equity 5849.9
    assert account(new).equity_usd == Decimal("5849.9")


def test_account_update_opens_a_position_from_its_upnl(pf):
    frame = {
        "a": {"m": "ORDER", "B": [], "P": [{"s": "BTCUSDT", "pa": "-0.5", "ep": "50000", "up": "-100", "ps": "SHORT"}]}
    }
    new = sources.apply_account_update(pf, frame)
    short = new.positions[-1]
    # a new hedge-mode short: mark = ep + up / pa = 50000 + (−100 / −0.5) = 50200
    assert (short.side, short.quantity, short.mark_price, short.margin_asset) == (
        -1,
        Decimal("0.5"),
        Decimal(50200),
        "USDT",
    )
    assert short.maint_margin_rate == Decimal("0.01")  # from the long twin on the same symbol
    assert short.unrealized_pnl == Decimal(-100)


def test_account_update_that_needs_a_resync(pf):
    with pytest.raises(sources.Resync):
        sources.apply_account_update(pf, {"a": {"B": [{"a": "ETH", "wb": "1", "cw": "1"}], "P": []}})
    with pytest.raises(sources.Resync):  # a new symbol with neither a twin nor a bracket snapshot entry
        sources.apply_account_update(pf, {"a": {"B": [], "P": [{"s": "FOOUSDT", "pa": "1", "ep": "1", "up": "0"}]}})


def test_bad_frames_are_input_errors(pf):
    with pytest.raises(InputError) as e:
        sources.decode_frame('{"e":"markPriceUpdate","s":"BTCUSDT","p":NaN}', "market stream")
    assert e.value.problems[0].startswith("market stream: NaN")
    with pytest.raises(InputError) as e:
        sources.apply_mark(pf, {"s": "BTCUSDT", "p": "-1"})
    assert e.value.problems == ["markPriceUpdate: BTCUSDT.p: must be greater than 0 (got -1)"]
    with pytest.raises(InputError) as e:
        sources.apply_account_update(pf, {"a": {"B": [{"a": "USDT", "cw": "1e99"}], "P": []}})
    assert "ACCOUNT_UPDATE: a.B[0](USDT).cw: is too large" in e.value.problems[0]
    with pytest.raises(InputError):
        sources.apply_asset_index(pf, [{"s": "BTCUSD", "i": "1", "b": "1.5"}])


def test_stamps():
    assert stamps.stamp_time(Decimal(1700000000000)) == utc(2023, 11, 14, 22, 13, 20)
    assert stamps.stamp_time(0) is None and stamps.stamp_time(True) is None
    assert stamps.stamp_time(Decimal("1.5")) is None and stamps.stamp_time("1700000000000") is None
    body = json.loads('{"a": [{"time": 5}, {"updateTime": 9, "x": {"E": 7}}], "serverTime": 3}')
    assert stamps.newest_stamp([body]) == utc(1970, 1, 1, 0, 0, 0, 9000)  # 9 ms, the newest
    assert stamps.iso(utc(2024, 5, 6, 12, 53, 20)) == "2024-05-06T12:53:20Z"
