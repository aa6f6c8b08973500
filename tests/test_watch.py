"""`mamcli watch` (SPEC §9) end to end: the real command in a subprocess, against a local `websockets` server
replaying the recorded frames of tests/frames/ and a local fake Binance REST server (tests/test_sources.py).
Nothing reaches the internet.  Expected figures are worked out by hand in each test."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_sources import KEY, PAYLOADS, SECRET, recorded
from test_sources import rest as rest  # a fixture, re-exported for these tests

from mamcli.cli import main
from mamcli.watch import LISTEN_KEY

ROOT = Path(__file__).parent.parent
FRAMES = Path(__file__).parent / "frames"
FAST = {"MAMCLI_WATCH_BACKOFF_S": "0.05", "MAMCLI_WATCH_STALE_S": "30"}

Script = list[str]  # lines of a frames file


def script(name: str) -> Script:
    return (FRAMES / name).read_text().splitlines()


class FakeStreams:
    """A local WebSocket server: each route ("/market/stream", "/private/ws") has a list of scripts, one per
    connection (the last one repeats).  Records every request path."""

    def __init__(self, routes: dict[str, list[Script]]) -> None:
        self.routes = routes
        self.paths: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self.stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, process_request=self._check) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self.ready.set()
            await self.stop.wait()

    def _check(self, connection: Any, request: Any) -> Any:
        """Unknown routes are refused in the handshake: 404, or a redirect for /redirect…"""
        from http import HTTPStatus

        route = request.path.split("?")[0]
        if route.startswith("/redirect"):
            self.paths.append(request.path)
            response = connection.respond(HTTPStatus.FOUND, "moved\n")
            response.headers["Location"] = f"ws://127.0.0.1:{self.port}/market/stream"
            return response
        if route not in self.routes:
            self.paths.append(request.path)
            return connection.respond(HTTPStatus.NOT_FOUND, "no such stream\n")
        return None

    async def _handle(self, ws: Any) -> None:
        path = ws.request.path
        route = path.split("?")[0]
        n = sum(1 for p in self.paths if p.split("?")[0] == route)
        self.paths.append(path)
        scripts = self.routes.get(route)
        if scripts is None:
            await ws.close(1008, "no such stream")
            return
        for line in scripts[min(n, len(scripts) - 1)]:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("sleep "):
                await asyncio.sleep(float(line.split()[1]))
            elif line == "close":
                await ws.close(1011, "dropped by the test server")
                return
            else:
                await ws.send(line)
        await ws.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(5)


@pytest.fixture
def streams() -> Iterator[Callable[[dict[str, list[Script]]], FakeStreams]]:
    servers: list[FakeStreams] = []

    def start(routes: dict[str, list[Script]]) -> FakeStreams:
        servers.append(FakeStreams(routes))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("MAMCLI_")}
    return {**out, "PYTHONPATH": str(ROOT), **FAST, **extra}


def watch(
    *args: str, environ: dict[str, str] | None = None, timeout: float = 20
) -> tuple[int, list[dict[str, Any]], str]:
    """Run `mamcli watch ARGS` to its end: (exit code, events, stderr)."""
    r = subprocess.run(
        [sys.executable, "-m", "mamcli", "watch", *args],
        capture_output=True,
        text=True,
        env=environ or env(),
        timeout=timeout,
    )
    events = [json.loads(line, parse_float=Decimal) for line in r.stdout.splitlines()]
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, events, r.stderr


def names(events: list[dict[str, Any]], *only: str) -> list[str]:
    return [e["event"] for e in events if not only or e["event"] in only]


# BTCUSDT long 1 @ 100 on 20 USDT (haircut 0, price 1), maintenance rate 0.1:
#   equity = 20 + (m − 100) = m − 80, maintenance = 0.1 m, ratio = 0.1 m / (m − 80)
#   m = 110: 11 / 30 = 0.3667 green     m = 105: 10.5 / 25 = 0.42 green
#   m =  95: 9.5 / 15 = 0.6333 yellow   m =  92: 9.2 / 12 = 0.7667 yellow
#   m =  90: 9 / 10 = 0.9 red           m =  89: 8.9 / 9 = 0.9889 red
#   liquidation at 0.1 m = m − 80: m = 80 / 0.9 = 88.888…; distance (88.89 − m) / m:
#   110: −19.19 %, 105: −15.34 % (ok at --liq-warn 15), 95: −6.43 % (warn), 92: −3.38 % (crit, below 5 %)
RAMP = """\
[account]
mode = "multi-asset"
tier = "regular"

[assets.USDT]
balance = 20
price = 1
haircut = 0
ask_buffer = 0
autoexchange_haircut = 0

[[positions]]
symbol = "BTCUSDT"
side = "long"
quantity = 1
entry_price = 100
mark_price = 110
maint_margin_rate = 0.1
"""


@pytest.fixture
def ramp(tmp_path: Path) -> str:
    path = tmp_path / "ramp.toml"
    path.write_text(textwrap.dedent(RAMP))
    return str(path)


def ramp_streams(streams: Callable[[dict[str, list[Script]]], FakeStreams]) -> FakeStreams:
    return streams({"/market/stream": [script("market-green-to-red.jsonl")]})


def test_a_mark_path_from_green_to_red_gives_exactly_the_band_events(streams, ramp):
    server = ramp_streams(streams)
    code, events, err = watch(ramp, "--ws-url", server.url, "--interval", "0.02", "--duration", "1.6")
    assert code == 0, err
    assert events[0]["event"] == "start" and events[0]["band"] == "green"
    assert events[0]["margin_ratio"] == Decimal("0.36666667")  # 11 / 30 at the file's mark 110
    assert events[0]["equity_usd"] == Decimal(30) and events[0]["maint_margin_usd"] == Decimal(11)
    bands = [(e["from"], e["to"]) for e in events if e["event"] == "band"]
    assert bands == [("green", "yellow"), ("yellow", "red")]
    # the band events carry the ratio that moved them: 9.5 / 15 at 95, 9 / 10 at 90
    ratios = [e["margin_ratio"] for e in events if e["event"] == "band"]
    assert ratios == [Decimal("0.63333333"), Decimal("0.9")]
    near = [(e["from"], e["level"]) for e in events if e["event"] == "liquidation_near"]
    assert near == [("ok", "warn"), ("warn", "crit")]
    assert names(events)[-1] == "stop" and "--duration" in events[-1]["reason"]
    assert "autoexchange" not in names(events)  # 20 USDT is far from the −5,000 USDT threshold
    # the subscription: the symbol held and the asset index, on the market entry point
    assert server.paths == ["/market/stream?streams=btcusdt@markPrice@1s/!assetIndex@arr"]
    for e in events:
        assert list(e)[:6] == ["time", "event", "band", "margin_ratio", "equity_usd", "maint_margin_usd"]


def test_until_exits_1_as_soon_as_the_band_is_reached(streams, ramp):
    server = ramp_streams(streams)
    code, events, err = watch(ramp, "--ws-url", server.url, "--interval", "0.02", "--until", "red", "--duration", "10")
    assert code == 1, err
    assert [(e["from"], e["to"]) for e in events if e["event"] == "band"] == [("green", "yellow"), ("yellow", "red")]
    assert events[-1]["event"] == "stop" and events[-1]["band"] == "red" and "--until red" in events[-1]["reason"]


def test_exec_gets_each_event_on_stdin_one_at_a_time(streams, ramp, tmp_path):
    server = ramp_streams(streams)
    out = tmp_path / "events.txt"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import os, sys\n"
        "data = sys.stdin.read()\n"
        "with open(sys.argv[1], 'a') as f:\n"
        "    f.write(os.environ['MAMCLI_EVENT'] + ' ' + os.environ['MAMCLI_BAND'] + ' ' + data)\n"
    )
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(hook))} {shlex.quote(str(out))}"
    code, events, err = watch(ramp, "--ws-url", server.url, "--interval", "0.02", "--duration", "1.6", "--exec", cmd)
    assert code == 0, err
    lines = out.read_text().splitlines()
    got = [line.split(" ", 2) for line in lines]
    # band at 95 (yellow), liquidation warn at 95 (yellow), crit at 92 (yellow), band at 90 (red); no start/stop
    assert [(name, band) for name, band, _ in got] == [
        ("band", "yellow"),
        ("liquidation_near", "yellow"),
        ("liquidation_near", "yellow"),
        ("band", "red"),
    ]
    sent = [json.loads(body, parse_float=Decimal) for _, _, body in got]
    assert sent == [e for e in events if e["event"] not in ("start", "stop")]


def test_exec_failure_is_reported_and_the_watch_goes_on(streams, ramp, tmp_path):
    server = ramp_streams(streams)
    cmd = f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(3)'"
    code, events, err = watch(ramp, "--ws-url", server.url, "--interval", "0.02", "--duration", "1.6", "--exec", cmd)
    assert code == 0
    assert "mamcli: warning: --exec:" in err and "exited with status 3 (band event)" in err
    assert names(events, "band") == ["band", "band"]


def test_sigterm_gives_a_stop_event_and_exit_0(streams, ramp):
    server = streams({"/market/stream": [script("market-idle.jsonl")]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "mamcli", "watch", ramp, "--ws-url", server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    assert first["event"] == "start"
    proc.send_signal(signal.SIGTERM)
    rest_out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    last = json.loads(rest_out.splitlines()[-1])
    assert last["event"] == "stop" and last["reason"] == "signal SIGTERM"


def test_stale_when_market_data_stops(streams, ramp):
    server = streams({"/market/stream": [script("market-idle.jsonl")]})
    code, events, err = watch(ramp, "--ws-url", server.url, "--duration", "1", environ=env(MAMCLI_WATCH_STALE_S="0.3"))
    assert code == 0, err
    assert names(events) == ["start", "stale", "stop"]


# ------------------------------------------------------------------------------------------ --live

# The account of tests/payloads: USDT wallet 2000 + uPnL 200 (−300 BTCUSDT, +500 ETHUSDT) at the bid rate
# 0.9999 = 2199.78; BTC 0.05 × 60000 × 0.95 = 2850; equity 5049.78.  Maintenance (24 + 30) × 1.0001 = 54.0054.
START_EQUITY = Decimal("2200") * Decimal("0.9999") + Decimal("2850")


def live_env(**extra: str) -> dict[str, str]:
    return env(MAMCLI_API_KEY=KEY, MAMCLI_API_SECRET=SECRET, **extra)


def test_live_account_update_moves_equity_by_hand(streams, rest):
    base, seen = rest()
    server = streams(
        {"/market/stream": [script("market-idle.jsonl")], "/private/ws": [script("user-account-update.jsonl")]}
    )
    code, events, err = watch(
        "--live",
        "--ws-url",
        server.url,
        "--base-url",
        base,
        "--interval",
        "0.02",
        "--duration",
        "1.2",
        environ=live_env(),
    )
    assert code == 0, err
    assert events[0]["event"] == "start" and events[0]["equity_usd"] == START_EQUITY == Decimal("5049.78")
    assert events[0]["maint_margin_usd"] == Decimal("54.0054")
    account = next(e for e in events if e["event"] == "account")
    # the withdrawal: USDT cross wallet 2000 → 1500; equity falls by 500 × 0.9999 = 499.95
    assert account["reason"] == "WITHDRAW"
    assert START_EQUITY - account["equity_usd"] == Decimal("499.95")
    call = next(e for e in events if e["event"] == "margin_call")
    assert call["binance"]["p"][0]["s"] == "ETHUSDT"
    # the user data stream: a listenKey from POST (key header, no signature), the events allow list
    posts = [(p, h) for m, p, h in seen if m == "POST"]
    assert posts and posts[0][0] == "/fapi/v1/listenKey" and posts[0][1]["X-MBX-APIKEY"] == KEY
    user = next(p for p in server.paths if p.startswith("/private/ws"))
    assert user.startswith("/private/ws?listenKey=pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1&")
    assert user.endswith("&events=ACCOUNT_UPDATE/MARGIN_CALL/ORDER_TRADE_UPDATE/ACCOUNT_CONFIG_UPDATE/listenKeyExpired")
    market = next(p for p in server.paths if p.startswith("/market/stream"))
    assert market == "/market/stream?streams=btcusdt@markPrice@1s/ethusdt@markPrice@1s/!assetIndex@arr"
    assert SECRET not in err and KEY not in err


def test_a_dropped_connection_reconnects_and_reseeds_from_rest(streams, rest):
    # the second GET /fapi/v2/account finds USDT's wallet at 1000 (was 2000)
    second = json.loads((PAYLOADS / "account_v2.json").read_text())
    for row in second["assets"]:
        if row["asset"] == "USDT":
            row["walletBalance"] = row["crossWalletBalance"] = "1000.00000000"

    def answer(method: str, path: str, n: int) -> tuple[int, bytes]:
        if path == "/fapi/v2/account" and n >= 1:
            return 200, json.dumps(second).encode()
        return recorded(method, path, n)

    base, seen = rest(answer)
    server = streams(
        {
            "/market/stream": [script("market-drop.jsonl"), script("market-idle.jsonl")],
            "/private/ws": [["# nothing"]],
        }
    )
    code, events, err = watch(
        "--live",
        "--ws-url",
        server.url,
        "--base-url",
        base,
        "--interval",
        "0.02",
        "--duration",
        "1.5",
        environ=live_env(),
    )
    assert code == 0, err
    reconnect = next(e for e in events if e["event"] == "reconnect")
    assert reconnect["stream"] == "market" and "1011" in reconnect["reason"]
    # re-seeded: USDT (1000 + 200) × 0.9999 = 1199.88, BTC 2850: equity 4049.88
    assert reconnect["equity_usd"] == Decimal("1199.88") + Decimal("2850")
    assert sum(1 for m, p, _ in seen if p.startswith("/fapi/v2/account")) == 2
    assert [p.split("?")[0] for p in server.paths].count("/market/stream") == 2


# ------------------------------------------------------------------------------------------ errors


def one_error(r: Any) -> str:
    assert (r.exit_code, r.stdout) == (2, ""), (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mamcli: error: "), r.stderr
    return str(lines[0])


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--live", "p.toml"], "give PORTFOLIO or --live, not both"),
        ([], "give a PORTFOLIO file to watch, or --live"),
        (["p.toml", "--ws-url", "ws://example.com"], "--ws-url: ws://example.com: ws:// is allowed only to a loopback"),
        (["p.toml", "--ws-url", "https://fstream.binance.com"], "--ws-url: https://fstream.binance.com: only wss://"),
        (["p.toml", "--interval", "0"], "--interval: 0: expected a number of seconds above 0"),
        (["p.toml", "--exec", "no-such-command-xyz"], "--exec: no-such-command-xyz: no such command"),
        (["p.toml", "--exec", "'unclosed"], "--exec: \"'unclosed\" cannot be split"),
        (["--live"], "watch --live: MAMCLI_API_KEY and MAMCLI_API_SECRET not set"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, expected, ramp, monkeypatch):
    monkeypatch.delenv("MAMCLI_API_KEY", raising=False)
    monkeypatch.delenv("MAMCLI_API_SECRET", raising=False)
    args = [ramp if a == "p.toml" else a for a in args]
    line = one_error(CliRunner().invoke(main, ["watch", *args], env={"MAMCLI_PORTFOLIO": None}))
    assert expected in line, line


def test_no_websocket_server_is_one_line_exit_2(ramp):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, events, err = watch(ramp, "--ws-url", f"ws://127.0.0.1:{port}", "--timeout", "2")
    assert (code, events) == (2, [])
    assert err.startswith("mamcli: error: --ws-url: market stream ws://127.0.0.1:") and len(err.splitlines()) == 1


def test_a_stream_that_answers_404_or_a_redirect_is_one_line_exit_2(streams, ramp):
    server = streams({"/market/stream": [script("market-idle.jsonl")]})
    code, events, err = watch(ramp, "--ws-url", server.url + "/nowhere", "--duration", "2")
    assert (code, events) == (2, [])
    assert err == (
        f"mamcli: error: --ws-url: market stream {server.url}/nowhere/market/stream: "
        "the server answered HTTP 404 instead of a WebSocket\n"
    )
    code, events, err = watch(ramp, "--ws-url", server.url + "/redirect", "--duration", "2")
    assert (code, events) == (2, [])
    assert "answered 302, a redirect to ws://127.0.0.1:" in err and "never followed" in err
    # the redirect was not followed: the server never saw the market path itself
    assert [p.split("?")[0] for p in server.paths] == ["/nowhere/market/stream", "/redirect/market/stream"]


# ------------------------------------------------------------------------------------------ the live view


def test_the_live_view_fits_80_columns():
    from mamcli.watch import Snapshot, ViewRow, view_lines

    snap = Snapshot(
        band="yellow",
        margin_ratio=Decimal("0.6333"),
        equity_usd=Decimal("1234567.891"),
        maint_margin_usd=Decimal("781882.99"),
        buffer_usd=Decimal("452684.9"),
        positions=tuple(
            ViewRow(
                "1000SHIBUSDT_250328", "short", Decimal("0.01234567"), Decimal("123456789.12345678"), Decimal("-0.1876")
            )
            for _ in range(15)
        ),
        liq_distance=Decimal("0.0643"),
        ae_triggers=(),
        ae_near=("USDC",),
        ae_headroom_usd=Decimal("1999.5"),
        ae_headroom_asset="USDC",
    )
    lines = view_lines(
        snap,
        title="a-very-long-portfolio-file-name-that-goes-on-and-on-and-on-and-on.toml",
        clock="12:00:03Z",
        age_s=0.4,
        as_of="2024-05-06T12:53:20.123Z",
        connections={"market": "connected", "user": "retry in 4 s"},
        recent=["12:00:01 band green -> yellow"],
        liq_warn=Decimal(15),
        liq_crit=Decimal(5),
    )
    assert all(len(line) <= 80 for line in lines), [len(line) for line in lines]
    text = "\n".join(lines)
    assert "band YELLOW" in text and "63.33 %" in text and "-18.76 %" in text and "NEAR: USDC" in text
    assert "… and 3 more positions" in text and "recent events" in text


def test_band_thresholds_and_backoff():
    from mamcli.watch import backoff, liq_level

    assert [backoff(i) for i in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert liq_level(None, Decimal(15), Decimal(5)) == "ok"
    assert liq_level(Decimal("0.15"), Decimal(15), Decimal(5)) == "ok"  # at the threshold: not below it
    assert liq_level(Decimal("0.1499"), Decimal(15), Decimal(5)) == "warn"
    assert liq_level(Decimal("0.0499"), Decimal(15), Decimal(5)) == "crit"


# ------------------------------------------------------------------------------------------ the listenKey

FIRST_KEY = json.loads(recorded("POST", "/fapi/v1/listenKey", 0)[1])["listenKey"]
SECOND_KEY = "second0key0after0renewal0Zq7Xc3Vb9Nm1Lk5Jh8Gf2Ds4Ap6Ow0Ie3Ur7Yt1Wq9Ez5Rx2Cv8Bn4Mk6Jl0Hg3Fd7Sa1"

Seen = list[tuple[str, str, dict[str, str]]]


def renewing(put: tuple[int, bytes] | None = None) -> Callable[[str, str, int], tuple[int, bytes]]:
    """The recorded REST answers, but the second POST /fapi/v1/listenKey hands out SECOND_KEY, and the first
    PUT is answered with `put` (when given)."""

    def answer(method: str, path: str, n: int) -> tuple[int, bytes]:
        if path == LISTEN_KEY and method == "POST" and n >= 1:
            return 200, json.dumps({"listenKey": SECOND_KEY}).encode()
        if path == LISTEN_KEY and method == "PUT":
            return put if put is not None and n == 0 else (200, b"{}")
        return recorded(method, path, n)

    return answer


def live_watch(server: FakeStreams, base: str, duration: str, **extra: str) -> tuple[int, list[dict[str, Any]], str]:
    return watch(
        "--live",
        "--ws-url",
        server.url,
        "--base-url",
        base,
        "--interval",
        "0.02",
        "--duration",
        duration,
        environ=live_env(**extra),
    )


def user_paths(server: FakeStreams) -> list[str]:
    return [p for p in server.paths if p.split("?")[0] == "/private/ws"]


def key_of(path: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(path).query)["listenKey"][0]


def no_secret_anywhere(seen: Seen, *texts: str) -> None:
    for method, path, headers in seen:
        assert SECRET not in path and all(SECRET not in f"{k}: {v}" for k, v in headers.items()), (method, path)
    for text in texts:
        assert SECRET not in text


def test_the_listen_key_is_kept_alive_with_put_and_the_key_header(streams, rest):
    base, seen = rest()
    server = streams({"/market/stream": [script("market-idle.jsonl")], "/private/ws": [["# nothing"]]})
    code, events, err = live_watch(server, base, "1.2", MAMCLI_WATCH_KEEPALIVE_S="0.15")
    assert code == 0, err
    # 1.2 s at one PUT every 0.15 s: several; "repeatedly" asked as at least 3, far from the ~7 expected
    puts = [(p, h) for m, p, h in seen if m == "PUT"]
    assert len(puts) >= 3, seen
    for path, headers in puts:
        assert path == LISTEN_KEY  # no query: no timestamp, no signature (the key header only)
        assert headers["X-MBX-APIKEY"] == KEY
    # the key stays alive: one POST, one user data stream connection, no reconnect, no warning
    assert [m for m, p, _ in seen if p.startswith(LISTEN_KEY)].count("POST") == 1
    assert len(user_paths(server)) == 1 and "reconnect" not in names(events)
    assert err == ""
    no_secret_anywhere(seen, err, json.dumps(events, default=str))


def test_listen_key_expired_gives_a_new_key_and_a_reconnect_that_still_applies_updates(streams, rest):
    base, seen = rest(renewing())
    server = streams(
        {
            "/market/stream": [script("market-idle.jsonl")],
            "/private/ws": [script("user-key-expired.jsonl"), script("user-deposit.jsonl")],
        }
    )
    # a renewal is not a network failure: no backoff (at 30 s a backoff would outlast the 1.5 s watch)
    code, events, err = live_watch(server, base, "1.5", MAMCLI_WATCH_BACKOFF_S="30")
    assert code == 0, err
    # POST, listenKeyExpired on the stream, POST again: the second connection carries the NEW key
    assert [m for m, p, _ in seen if p.startswith(LISTEN_KEY)] == ["POST", "POST"]
    assert [key_of(p) for p in user_paths(server)] == [FIRST_KEY, SECOND_KEY]
    reconnect = next(e for e in events if e["event"] == "reconnect")
    assert reconnect["stream"] == "user" and reconnect["reason"] == "listenKeyExpired"
    assert reconnect["attempts"] == 1
    # re-seeded from REST on the reconnect: the start's figures (USDT 2200 × 0.9999 + BTC 2850 = 5049.78)
    assert reconnect["equity_usd"] == START_EQUITY
    # then, on the new connection, a deposit: USDT cross wallet 2000 → 2600; equity rises by 600 × 0.9999 = 599.94
    account = next(e for e in events if e["event"] == "account")
    assert names(events).index("reconnect") < names(events).index("account")
    assert account["reason"] == "DEPOSIT"
    assert account["equity_usd"] - START_EQUITY == Decimal("599.94")
    assert account["equity_usd"] == Decimal("5649.72")  # (2600 + 200) × 0.9999 + 2850 = 2799.72 + 2850
    no_secret_anywhere(seen, err)


def test_error_1125_on_the_keep_alive_gives_a_new_key_and_a_reconnect_that_still_applies_updates(streams, rest):
    gone = (400, b'{"code": -1125, "msg": "This listenKey does not exist."}')
    base, seen = rest(renewing(put=gone))
    server = streams(
        {
            "/market/stream": [script("market-idle.jsonl")],
            "/private/ws": [["# nothing"], script("user-deposit.jsonl")],
        }
    )
    # the first PUT after 0.2 s is refused with -1125; the later ones (every 0.2 s) succeed.  No backoff for a
    # renewal: at 30 s a backoff would outlast the 1.5 s watch
    code, events, err = live_watch(server, base, "1.5", MAMCLI_WATCH_KEEPALIVE_S="0.2", MAMCLI_WATCH_BACKOFF_S="30")
    assert code == 0, err
    calls = [m for m, p, _ in seen if p.startswith(LISTEN_KEY)]
    assert calls[:2] == ["POST", "PUT"] and calls.count("POST") == 2  # the refused PUT, then one new key
    assert all(h["X-MBX-APIKEY"] == KEY for m, p, h in seen if p.startswith(LISTEN_KEY))
    assert [key_of(p) for p in user_paths(server)] == [FIRST_KEY, SECOND_KEY]
    reconnect = next(e for e in events if e["event"] == "reconnect")
    assert reconnect["stream"] == "user" and reconnect["attempts"] == 1
    assert reconnect["reason"].startswith("listenKey gone") and "-1125" in reconnect["reason"]
    assert reconnect["equity_usd"] == START_EQUITY
    # the deposit on the new connection: equity 5049.78 + 600 × 0.9999 = 5649.72
    account = next(e for e in events if e["event"] == "account")
    assert names(events).index("reconnect") < names(events).index("account")
    assert account["reason"] == "DEPOSIT" and account["equity_usd"] - START_EQUITY == Decimal("599.94")
    assert "keeping the listenKey alive failed" not in err  # -1125 is handled, not merely reported
    no_secret_anywhere(seen, err)
