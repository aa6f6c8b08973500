"""`mamcli watch`: follow the account live (SPEC §9 "watch").

Market data come from Binance's WebSocket market entry point (`<ws-url>/market/stream?streams=…` with
`<symbol>@markPrice@1s` for every symbol held and `!assetIndex@arr`); with `--live` also the user data stream
(`POST /fapi/v1/listenKey`, `<ws-url>/private/ws?listenKey=…&events=…`, kept alive with `PUT` every 30
minutes, renewed on `listenKeyExpired` or error -1125).  A dropped connection is re-opened with backoff (1, 2,
4 … 30 s) and the state re-seeded from REST (`--live`: the whole account; a file: its marks, index prices and
buffers from the public premiumIndex and assetIndex, as `--live-prices` does).

The account is recomputed at most once per `--interval`; what changed becomes events (JSON Lines, or the
"recent events" of the live view on a terminal): `start`, `band`, `autoexchange`, `liquidation_near`,
`margin_call`, `account`, `stale`, `reconnect`, `stop`.  `--exec CMD` runs CMD (no shell) for each event other
than start/stop, one at a time.  asyncio and the `websockets` client are imported here only: no other
command pays for them.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

from mamcli import stamps
from mamcli.model import BANDS, InputError, Portfolio, Record
from mamcli.numbers import ENGINE_CONTEXT, json_number
from mamcli.results import at_or_beyond
from mamcli.text import escape

if TYPE_CHECKING:
    import asyncio

    from mamcli.netclient import Client

DEFAULT_WS_URL = "wss://fstream.binance.com"
USER_EVENTS = ("ACCOUNT_UPDATE", "MARGIN_CALL", "ORDER_TRADE_UPDATE", "ACCOUNT_CONFIG_UPDATE", "listenKeyExpired")
LISTEN_KEY = "/fapi/v1/listenKey"
KEY_GONE = "-1125"  # Binance: "This listenKey does not exist."
MAX_WAITING = 100  # --exec: events waiting beyond this drop the oldest
VIEW_WIDTH = 80
VIEW_ROWS = 12  # positions shown in the live view
RECENT = 6  # events shown in the live view
MAX_FRAME = 16 * 1024 * 1024


def _env_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A duration that tests may shorten through the environment (hidden: not in --help)."""
    text = environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise InputError([f"{name}: expected a number of seconds, got {escape(text)!r}"]) from None
    if not 0 < value <= 86400:
        raise InputError([f"{name}: expected a number of seconds above 0"])
    return value


def _seconds(value: str | None, option: str, default: float | None) -> float | None:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise InputError([f"{option}: expected a number of seconds, got {escape(value)!r}"]) from None
    if not 0 < seconds <= 10**7:
        raise InputError([f"{option}: {escape(value)}: expected a number of seconds above 0"])
    return seconds


def _percent(value: str, option: str) -> Decimal:
    from mamcli.numbers import D, NumberError

    try:
        d = D(value.removesuffix("%"))
    except NumberError as err:
        raise InputError([f"{option}: {escape(value)}: {err}"]) from None
    if not 0 <= d <= 100:
        raise InputError([f"{option}: {escape(value)}: expected a percentage from 0 to 100"])
    return d


# ---------------------------------------------------------------------------------------------- settings


class Settings(Record):
    portfolio: str | None  # None with --live
    live: bool
    interval: float
    as_json: bool
    view: bool  # a live view redrawn in place (a terminal and no --json)
    exec_argv: tuple[str, ...] | None
    until: str | None
    duration: float | None
    ws_url: str  # checked, no trailing slash
    base_url: str
    timeout: float
    ae_warn: Decimal  # percent
    liq_warn: Decimal  # percent
    liq_crit: Decimal  # percent
    rules: str | None
    tier: str | None
    stale_s: float
    backoff_s: float
    keepalive_s: float
    exec_timeout_s: float


def settings(
    portfolio: str | None,
    live: bool,
    interval: str | None = None,
    as_json: bool = False,
    exec_cmd: str | None = None,
    until: str | None = None,
    duration: str | None = None,
    ws_url: str | None = None,
    base_url: str | None = None,
    timeout: str | None = None,
    ae_warn: str = "20",
    liq_warn: str = "15",
    liq_crit: str = "5",
    rules: str | None = None,
    tier: str | None = None,
    environ: Mapping[str, str] = os.environ,
    isatty: bool = False,
) -> Settings:
    """The options checked, every problem an InputError naming the option."""
    import shlex
    import shutil

    from mamcli.live import DEFAULT_BASE_URL
    from mamcli.netclient import DEFAULT_TIMEOUT, check_timeout, check_url

    if live and portfolio:
        raise InputError(["watch: give PORTFOLIO or --live, not both"])
    if not live and not portfolio:
        raise InputError(["watch: give a PORTFOLIO file to watch, or --live for the account behind MAMCLI_API_KEY"])
    if until is not None and until not in BANDS:
        raise InputError([f"--until: expected one of {', '.join(BANDS)}, got {escape(until)!r}"])
    argv: tuple[str, ...] | None = None
    if exec_cmd is not None:
        try:
            argv = tuple(shlex.split(exec_cmd))
        except ValueError as err:
            raise InputError([f"--exec: {escape(exec_cmd)!r} cannot be split into words ({err})"]) from None
        if not argv:
            raise InputError(["--exec: the command is empty"])
        if shutil.which(argv[0]) is None:
            raise InputError([f"--exec: {escape(argv[0])}: no such command, or not executable"])
    ws = check_url(ws_url or DEFAULT_WS_URL, "--ws-url", secure="wss", plain="ws")
    base = base_url or DEFAULT_BASE_URL
    check_url(base, "--base-url")
    return Settings(
        portfolio=portfolio,
        live=live,
        interval=_seconds(interval, "--interval", 1.0) or 1.0,
        as_json=as_json,
        view=isatty and not as_json,
        exec_argv=argv,
        until=until,
        duration=_seconds(duration, "--duration", None),
        ws_url=ws.url(),
        base_url=base,
        timeout=DEFAULT_TIMEOUT if timeout is None else check_timeout(timeout),
        ae_warn=_percent(ae_warn, "--ae-warn"),
        liq_warn=_percent(liq_warn, "--liq-warn"),
        liq_crit=_percent(liq_crit, "--liq-crit"),
        rules=rules,
        tier=tier,
        stale_s=_env_seconds(environ, "MAMCLI_WATCH_STALE_S", 10.0),
        backoff_s=_env_seconds(environ, "MAMCLI_WATCH_BACKOFF_S", 1.0),
        keepalive_s=_env_seconds(environ, "MAMCLI_WATCH_KEEPALIVE_S", 1800.0),
        exec_timeout_s=_env_seconds(environ, "MAMCLI_WATCH_EXEC_TIMEOUT_S", 30.0),
    )


def backoff(attempt: int, base: float = 1.0) -> float:
    """1, 2, 4 … 30 (times `base`): the wait before reconnection attempt `attempt` (0-based)."""
    return base * min(float(2 ** min(attempt, 5)), 30.0)


# ---------------------------------------------------------------------------------------------- snapshot


class ViewRow(Record):
    symbol: str
    side: str
    mark_price: Decimal
    liquidation_price: Decimal | None
    distance: Decimal | None  # (liquidation − mark) / mark


class Snapshot(Record):
    band: str
    margin_ratio: Decimal | None
    equity_usd: Decimal
    maint_margin_usd: Decimal
    buffer_usd: Decimal
    positions: tuple[ViewRow, ...]
    liq_distance: Decimal | None  # the least magnitude, a fraction; None: nothing liquidates
    ae_triggers: tuple[str, ...]  # "threshold USDC", "liquidation", "ltv"
    ae_near: tuple[str, ...]  # assets within --ae-warn of their threshold
    ae_headroom_usd: Decimal | None  # the least USD distance of any wallet to its threshold
    ae_headroom_asset: str | None


def snapshot(pf: Portfolio, ae_warn: Decimal) -> Snapshot:
    """The figures the watch reports, from engine.risk and engine.autoexchange."""
    from mamcli import engine, nagios
    from mamcli.results import ThresholdTrigger

    risk = engine.risk(pf)
    ae = engine.autoexchange(pf)
    with localcontext(ENGINE_CONTEXT):
        rows = []
        distances: list[Decimal] = []
        for r in risk.positions:
            distance = r.liquidation_distance
            if distance is not None:
                distances.append(abs(distance))
            rows.append(ViewRow(r.symbol, r.side, r.mark_price, r.liquidation_price, distance))
        if risk.maint_margin_usd > 0:  # with no maintenance margin nothing can be liquidated
            for s in risk.liquidation_shocks.values():
                distances.extend(abs(x) for x in (s.down, s.up) if x is not None)
        triggers = tuple(f"{t.kind} {t.asset}" if isinstance(t, ThresholdTrigger) else t.kind for t in ae.triggers)
        near = tuple(t.asset for t in nagios.near_thresholds(ae.thresholds, ae_warn))
        least = nagios.least_headroom(ae.thresholds, {n: a.price for n, a in pf.assets.items()})
        headroom, headroom_asset = (None, None) if least is None else least
    return Snapshot(
        band=risk.band,
        margin_ratio=risk.margin_ratio,
        equity_usd=risk.equity_usd,
        maint_margin_usd=risk.maint_margin_usd,
        buffer_usd=risk.buffer_usd,
        positions=tuple(rows),
        liq_distance=min(distances) if distances else None,
        ae_triggers=triggers,
        ae_near=near,
        ae_headroom_usd=headroom,
        ae_headroom_asset=headroom_asset,
    )


def liq_level(distance: Decimal | None, warn: Decimal, crit: Decimal) -> str:
    """ok / warn / crit: the least liquidation distance against --liq-warn and --liq-crit (percent)."""
    if distance is None:
        return "ok"
    if distance * 100 < crit:
        return "crit"
    if distance * 100 < warn:
        return "warn"
    return "ok"


# ---------------------------------------------------------------------------------------------- output


def to_json_line(value: object) -> str:
    """Compact JSON on one line: Decimals as JSON numbers (half-up, 8 places, never through float)."""
    from json.encoder import encode_basestring

    def enc(v: object) -> str:
        if isinstance(v, Decimal):
            return json_number(v)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            raise TypeError("a float in an event is a bug")
        if isinstance(v, str):
            return str(encode_basestring(v))
        if isinstance(v, Mapping):
            return "{" + ",".join(f"{encode_basestring(str(k))}:{enc(x)}" for k, x in v.items()) + "}"
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(enc(x) for x in v) + "]"
        raise TypeError(f"cannot write {type(v).__name__} in an event")

    return enc(value)


def now_iso() -> str:
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


def _cut(line: str, width: int = VIEW_WIDTH) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def view_lines(
    snap: Snapshot,
    *,
    title: str,
    clock: str,
    age_s: float | None,
    as_of: str | None,
    connections: Mapping[str, str],
    recent: Sequence[str],
    liq_warn: Decimal,
    liq_crit: Decimal,
) -> list[str]:
    """The live view, every line at most 80 columns."""
    from mamcli.render import pct, price, shock, usd

    conn = "  ".join(f"{k} {v}" for k, v in connections.items())
    lines = [f"mamcli watch · {title} · {clock}", f"streams: {conn}"]
    lines.append(
        f"band {snap.band.upper()}   margin ratio {pct(snap.margin_ratio)}   buffer {usd(snap.buffer_usd)} USD"
    )
    lines.append(f"equity {usd(snap.equity_usd)} USD   maintenance {usd(snap.maint_margin_usd)} USD")
    age = "no market data yet" if age_s is None else f"{age_s:.1f} s"
    lines.append(f"data age {age}" + (f" (as of {as_of})" if as_of else ""))
    if snap.ae_triggers:
        ae = "TRIGGERED: " + ", ".join(snap.ae_triggers)
    elif snap.ae_near:
        ae = "NEAR: " + ", ".join(snap.ae_near)
    else:
        ae = "not triggered"
    if snap.ae_headroom_usd is not None:
        ae += f"; headroom {usd(snap.ae_headroom_usd)} USD ({snap.ae_headroom_asset})"
    lines.append(f"auto-exchange {ae}")
    level = liq_level(snap.liq_distance, liq_warn, liq_crit)
    least = "none" if snap.liq_distance is None else pct(snap.liq_distance)
    lines.append(f"least liquidation distance {least} ({level}; warn {liq_warn} %, crit {liq_crit} %)")
    lines.append("")
    lines.append(f"{'SYMBOL':<16} {'SIDE':<5} {'MARK':>16} {'LIQ. PRICE':>16} {'DISTANCE':>11}")
    for row in snap.positions[:VIEW_ROWS]:
        lines.append(
            f"{escape(row.symbol)[:16]:<16} {row.side:<5} {price(row.mark_price):>16} "
            f"{price(row.liquidation_price):>16} {shock(row.distance):>11}"
        )
    if len(snap.positions) > VIEW_ROWS:
        lines.append(f"… and {len(snap.positions) - VIEW_ROWS} more positions")
    if not snap.positions:
        lines.append("(no open positions)")
    if recent:
        lines.append("")
        lines.append("recent events")
        lines.extend(recent)
    return [_cut(line) for line in lines]


def _event_text(event: Mapping[str, Any]) -> str:
    """One short line for the view's recent events."""
    name = event["event"]
    stamp = str(event["time"])[11:19]
    detail = ""
    if name == "band":
        detail = f"{event['from']} -> {event['to']}"
    elif name == "autoexchange":
        detail = ", ".join(event["triggers"]) or ("near: " + ", ".join(event["near"]) if event["near"] else "clear")
    elif name == "liquidation_near":
        detail = f"{event['from']} -> {event['level']}"
    elif name == "account":
        detail = str(event.get("reason"))
    elif name == "reconnect":
        detail = f"{event['stream']}: {event['reason']}"
    elif name == "stale":
        detail = f"no market data for {event['age_s']} s"
    return _cut(escape(f"{stamp} {name} {detail}".rstrip()))


# ---------------------------------------------------------------------------------------------- the watch


class _Closed(Exception):
    """The stream's connection ended; the message says why."""


class Watcher:
    """The running watch: state, connections, events.  One asyncio loop; REST calls in a worker thread."""

    def __init__(
        self,
        st: Settings,
        pf: Portfolio,
        as_of: datetime | None,
        rest: Client,
        out: Callable[[str], None],
        err: Callable[[str], None],
    ) -> None:
        self.st = st
        self.pf = pf
        self.as_of = as_of
        self.rest = rest
        self.out = out
        self.err = err
        self.snap: Snapshot | None = None
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.connections: dict[str, str] = {"market": "connecting"}
        if st.live:
            self.connections["user"] = "connecting"
        self.recent: deque[str] = deque(maxlen=RECENT)
        self.exec_queue: deque[tuple[str, str, str]] = deque()
        self.exec_running = False
        self.stale = False
        self.last_market: float | None = None
        self.last_compute = 0.0
        self.stop_reason = ""
        self.exit_code = 0
        self.listen_key: str | None = None
        self.sockets: dict[str, Any] = {}
        self.resubscribe = False
        self.closing_user: str | None = None  # why we closed the user data stream ourselves
        self.symbols = self._symbols()

    # ------------------------------------------------------------------ helpers

    def _symbols(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.symbol for p in self.pf.positions))

    def warn(self, text: str) -> None:
        self.err(f"mamcli: warning: {escape(text)}")

    def market_url(self) -> str:
        from urllib.parse import quote

        streams = [f"{s.lower()}@markPrice@1s" for s in self.symbols] + ["!assetIndex@arr"]
        return f"{self.st.ws_url}/market/stream?streams=" + quote("/".join(streams), safe="/@!")

    def user_url(self) -> str:
        from urllib.parse import quote

        return f"{self.st.ws_url}/private/ws?listenKey={quote(self.listen_key or '', safe='')}&events=" + "/".join(
            USER_EVENTS
        )

    async def _open(self, url: str, what: str) -> Any:
        """A WebSocket connection through the `websockets` client; redirects are never followed, no proxy."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException

        class _NoRedirect(connect):
            def process_redirect(self, exc: Exception) -> Exception | str:
                return exc

        shown = url.split("?")[0]
        try:
            return await _NoRedirect(
                url,
                open_timeout=self.st.timeout,
                proxy=None,
                max_size=MAX_FRAME,
                compression=None,
                user_agent_header="mamcli",
            )
        except InvalidStatus as e:
            status = e.response.status_code
            if 300 <= status < 400:
                where = e.response.headers.get("Location")
                to = f" to {escape(where[:300])}" if where else ""
                raise _Closed(f"{what} {shown}: the server answered {status}, a redirect{to}; never followed") from None
            raise _Closed(f"{what} {shown}: the server answered HTTP {status} instead of a WebSocket") from None
        except TimeoutError:
            raise _Closed(f"{what} {shown}: no WebSocket handshake within {self.st.timeout:g} s (--timeout)") from None
        except (OSError, WebSocketException) as e:
            why = escape(getattr(e, "strerror", None) or e or type(e).__name__)
            raise _Closed(f"{what} {shown}: cannot connect ({why})") from None

    async def _rest(self, fn: Callable[..., Any], *args: Any) -> Any:
        import asyncio

        return await asyncio.to_thread(fn, *args)

    async def new_listen_key(self) -> None:
        reply = await self._rest(lambda: self.rest.post(LISTEN_KEY, keyed=True))
        key = reply.body.get("listenKey") if isinstance(reply.body, dict) else None
        if not isinstance(key, str) or not key or len(key) > 256 or not key.isprintable():
            raise InputError([f"POST {LISTEN_KEY}: no listenKey in the answer"])
        self.listen_key = key

    async def reseed(self) -> None:
        """The state again from REST: the whole account (--live), else the file's prices (a failure is a warning)."""
        from mamcli import sources

        if self.st.live:
            pf, as_of = await self._rest(sources.live_portfolio, self.rest, self.st.rules, self.st.tier)
            self.pf, self.as_of = pf, as_of
        else:
            try:
                pf, as_of, _ = await self._rest(sources.refresh_prices, self.pf, self.rest)
            except InputError as e:
                self.warn(f"re-seeding prices from REST failed, the stream will bring them: {'; '.join(e.problems)}")
                return
            self.pf = pf._replace(assumptions=self.pf.assumptions)
            if as_of is not None and (self.as_of is None or as_of > self.as_of):
                self.as_of = as_of
        if self._symbols() != self.symbols:
            self.symbols = self._symbols()
            self.resubscribe = True

    def _stamp(self, frame: object) -> None:

        stamp = stamps.newest_stamp([frame], ("E",))
        if stamp is not None and (self.as_of is None or stamp > self.as_of):
            self.as_of = stamp

    # ------------------------------------------------------------------ events

    def event(self, name: str, **extra: Any) -> None:
        snap = self.snap
        assert snap is not None

        ev: dict[str, Any] = {
            "time": now_iso(),
            "event": name,
            "band": snap.band,
            "margin_ratio": snap.margin_ratio,
            "equity_usd": snap.equity_usd,
            "maint_margin_usd": snap.maint_margin_usd,
            "as_of": stamps.iso(self.as_of),
            **extra,
        }
        line = to_json_line(ev)
        if self.st.view:
            self.recent.append(_event_text(ev))
        else:
            self.out(line)
        if self.st.exec_argv and name not in ("start", "stop"):
            if len(self.exec_queue) >= MAX_WAITING:
                dropped = self.exec_queue.popleft()
                self.warn(f"--exec: more than {MAX_WAITING} events waiting; dropped the oldest ({dropped[0]})")
            self.exec_queue.append((name, snap.band, line))
            self._wake_exec()

    def recompute(self) -> None:
        """The account recomputed; pending events first, then what changed."""
        before = self.snap
        try:
            snap = snapshot(self.pf, self.st.ae_warn)
        except ArithmeticError as e:
            self.warn(f"cannot compute the account ({type(e).__name__}); waiting for the next update")
            return
        self.snap = snap
        self.last_compute = time.monotonic()
        pending, self.pending = self.pending, []
        for name, extra in pending:
            self.event(name, **extra)
        if before is not None:
            if snap.band != before.band:
                self.event("band", **{"from": before.band, "to": snap.band})
            if (snap.ae_triggers, snap.ae_near) != (before.ae_triggers, before.ae_near):
                self.event(
                    "autoexchange",
                    triggered=bool(snap.ae_triggers),
                    triggers=list(snap.ae_triggers),
                    near=list(snap.ae_near),
                    headroom_usd=snap.ae_headroom_usd,
                )
            old = liq_level(before.liq_distance, self.st.liq_warn, self.st.liq_crit)
            new = liq_level(snap.liq_distance, self.st.liq_warn, self.st.liq_crit)
            if old != new:
                self.event("liquidation_near", **{"from": old}, level=new, distance=snap.liq_distance)
        self.check_until()
        self.redraw()

    def check_until(self) -> None:
        if self.st.until and self.snap and at_or_beyond(self.snap.band, self.st.until):
            self.finish(f"band {self.snap.band} at or beyond --until {self.st.until}", 1)

    # ------------------------------------------------------------------ view

    def redraw(self) -> None:
        if not self.st.view or self.snap is None:
            return
        age = None if self.last_market is None else time.monotonic() - self.last_market

        lines = view_lines(
            self.snap,
            title="live account" if self.st.live else escape(self.st.portfolio or ""),
            clock=now_iso()[11:19] + "Z",
            age_s=age,
            as_of=stamps.iso(self.as_of),
            connections=self.connections,
            recent=list(self.recent),
            liq_warn=self.st.liq_warn,
            liq_crit=self.st.liq_crit,
        )
        self.out("\x1b[H" + "".join(line + "\x1b[K\n" for line in lines) + "\x1b[J")

    # ------------------------------------------------------------------ lifecycle

    def finish(self, reason: str, code: int = 0) -> None:
        if not self.stop_reason:
            self.stop_reason = reason
            self.exit_code = code
            self.done.set()

    def mark_dirty(self) -> None:
        self.dirty.set()

    async def main(self) -> int:
        import asyncio
        import contextlib
        import signal

        self.done = asyncio.Event()
        self.dirty = asyncio.Event()
        self.exec_wake = asyncio.Event()
        self.exec_idle = asyncio.Event()
        self.exec_idle.set()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.finish, f"signal {sig.name}", 0)
        if self.st.view:
            self.out("\x1b[?1049h\x1b[?25l\x1b[H\x1b[J")  # the alternate screen, cursor hidden
        try:
            try:
                self.sockets["market"] = await self._open(self.market_url(), "market stream")
                self.connections["market"] = "connected"
                if self.st.live:
                    await self.new_listen_key()
                    self.sockets["user"] = await self._open(self.user_url(), "user data stream")
                    self.connections["user"] = "connected"
            except _Closed as e:
                raise InputError([f"--ws-url: {e}"]) from None
            self.recompute()
            self.event(
                "start",
                source="live" if self.st.live else "file",
                portfolio=self.st.portfolio,
                symbols=list(self.symbols),
                liq_distance=self.snap.liq_distance if self.snap else None,
                ae_headroom_usd=self.snap.ae_headroom_usd if self.snap else None,
            )
            self.check_until()
            tasks = [
                asyncio.create_task(self.market_loop()),
                asyncio.create_task(self.compute_loop()),
                asyncio.create_task(self.stale_loop()),
            ]
            if self.st.live:
                tasks += [asyncio.create_task(self.user_loop()), asyncio.create_task(self.keepalive_loop())]
            if self.st.exec_argv:
                tasks.append(asyncio.create_task(self.exec_loop()))
            if self.st.view:
                tasks.append(asyncio.create_task(self.view_loop()))
            if self.st.duration is not None:
                loop.call_later(self.st.duration, self.finish, f"--duration {self.st.duration:g} s", 0)
            await self.done.wait()
            for task in tasks:
                if task.get_coro().__name__ != "exec_loop":  # type: ignore[union-attr]
                    task.cancel()
            for ws in list(self.sockets.values()):
                with contextlib.suppress(Exception):  # a connection already gone
                    await asyncio.wait_for(ws.close(), 1)
            self.event("stop", reason=self.stop_reason)
            if self.st.exec_argv:
                await self.drain_exec(tasks)
            return self.exit_code
        finally:
            if self.st.view:
                self.out("\x1b[?25h\x1b[?1049l")
                if self.snap is not None and self.stop_reason:
                    from mamcli.render import pct

                    self.out(
                        f"mamcli watch: stopped ({escape(self.stop_reason)}); band {self.snap.band}, "
                        f"margin ratio {pct(self.snap.margin_ratio)}\n"
                    )

    async def compute_loop(self) -> None:
        import asyncio

        while True:
            await self.dirty.wait()
            wait = self.last_compute + self.st.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.dirty.clear()
            self.recompute()

    async def stale_loop(self) -> None:
        import asyncio

        started = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, self.st.stale_s / 4))
            last = self.last_market if self.last_market is not None else started
            age = time.monotonic() - last
            if age >= self.st.stale_s and not self.stale:
                self.stale = True
                self.event("stale", age_s=Decimal(f"{age:.1f}"))
                self.redraw()

    async def view_loop(self) -> None:
        import asyncio

        while True:
            await asyncio.sleep(0.5)
            self.redraw()

    # ------------------------------------------------------------------ streams

    async def _reconnect(self, stream: str, reason: str, url: Callable[[], str], immediate: bool = False) -> None:
        """Backoff, re-seed from REST, re-open; a `reconnect` event once the stream is back."""
        import asyncio

        self.sockets.pop(stream, None)
        attempt = 0
        while True:
            delay = 0.0 if immediate and attempt == 0 else backoff(attempt, self.st.backoff_s)
            attempt += 1
            self.connections[stream] = f"retry in {delay:g} s" if delay else "reconnecting"
            self.redraw()
            if delay:
                await asyncio.sleep(delay)
            try:
                await self.reseed()
                if stream == "user":
                    await self.new_listen_key()
                self.sockets[stream] = await self._open(url(), f"{stream} stream")
            except (_Closed, InputError) as e:
                text = "; ".join(e.problems) if isinstance(e, InputError) else str(e)
                self.warn(f"{stream} stream: reconnection failed ({text}); trying again")
                continue
            break
        self.connections[stream] = "connected"
        self.pending.append(("reconnect", {"stream": stream, "attempts": attempt, "reason": reason}))
        self.mark_dirty()

    async def market_loop(self) -> None:
        while True:
            ws = self.sockets["market"]
            reason = await self._read(ws, self.on_market)
            immediate = self.resubscribe
            if immediate:
                self.resubscribe = False
                reason = "the symbols held changed"
            await self._reconnect("market", reason, self.market_url, immediate)

    async def user_loop(self) -> None:
        while True:
            ws = self.sockets["user"]
            reason = await self._read(ws, self.on_user)
            if self.closing_user:
                reason, self.closing_user = self.closing_user, None
            immediate = reason.startswith(("listenKey", "resync"))  # not a network failure: no backoff
            await self._reconnect("user", reason, self.user_url, immediate=immediate)

    async def _read(self, ws: Any, handle: Callable[[Any, str | bytes], str]) -> str:
        """Frames to `handle` until the connection ends; the reason it ended."""
        from websockets.exceptions import ConnectionClosed

        try:
            async for message in ws:
                reason = handle(ws, message)
                if reason:
                    await ws.close()
                    return reason
                if self.resubscribe and handle == self.on_market:
                    await ws.close()
                    return "resubscribe"
        except ConnectionClosed as e:
            return f"connection closed ({e.rcvd.code if e.rcvd else 'no close frame'})"
        except OSError as e:
            return f"connection lost ({escape(e.strerror or e)})"
        code = ws.close_code
        return f"connection closed by the server ({code})" if code is not None else "connection closed"

    def on_market(self, ws: Any, message: str | bytes) -> str:
        from mamcli import sources

        try:
            frame = sources.decode_frame(message, "market stream")
            data = frame.get("data", frame) if isinstance(frame, dict) else frame
            if isinstance(data, list):
                self.pf = sources.apply_asset_index(self.pf, data)
            elif isinstance(data, dict) and data.get("e") == "markPriceUpdate":
                self.pf = sources.apply_mark(self.pf, data)
            elif isinstance(data, dict) and data.get("e") == "assetIndexUpdate":
                self.pf = sources.apply_asset_index(self.pf, [data])
            else:
                return ""
        except InputError as e:
            self.warn(f"market stream: frame ignored: {'; '.join(e.problems)}")
            return ""
        self._stamp(data)
        self.last_market = time.monotonic()
        self.stale = False
        self.mark_dirty()
        return ""

    def on_user(self, ws: Any, message: str | bytes) -> str:
        from mamcli import sources

        try:
            frame = sources.decode_frame(message, "user data stream")
            if not isinstance(frame, dict):
                return ""
            name = frame.get("e")
            error = frame.get("error")
            if name == "listenKeyExpired" or (isinstance(error, dict) and str(error.get("code")) == KEY_GONE):
                return "listenKeyExpired"
            if name == "ACCOUNT_UPDATE":
                body = frame.get("a")
                reason = body.get("m") if isinstance(body, dict) else None
                try:
                    self.pf = sources.apply_account_update(self.pf, frame)
                except sources.Resync:
                    return "resync: the update names an asset or symbol the state does not hold"
                self.pending.append(("account", {"reason": escape(reason) if reason else None}))
            elif name == "MARGIN_CALL":
                self.pending.append(("margin_call", {"binance": frame}))
            elif name == "ACCOUNT_CONFIG_UPDATE":
                if "ai" in frame:
                    return "resync: the multi-assets mode changed"
                self.pf = sources.apply_config_update(self.pf, frame)
            else:
                return ""
        except InputError as e:
            self.warn(f"user data stream: frame ignored: {'; '.join(e.problems)}")
            return ""
        self._stamp(frame)
        if self._symbols() != self.symbols:
            self.symbols = self._symbols()
            self.resubscribe = True
        self.mark_dirty()
        return ""

    async def keepalive_loop(self) -> None:
        import asyncio

        while True:
            await asyncio.sleep(self.st.keepalive_s)
            try:
                await self._rest(lambda: self.rest.put(LISTEN_KEY, keyed=True))
            except InputError as e:
                if any(KEY_GONE in p for p in e.problems) and "user" in self.sockets:
                    self.closing_user = f"listenKey gone (error {KEY_GONE} on the keep-alive)"
                    await self.sockets["user"].close()  # the user loop takes a new key, at once
                else:
                    self.warn(f"keeping the listenKey alive failed: {'; '.join(e.problems)}")

    # ------------------------------------------------------------------ --exec

    def _wake_exec(self) -> None:
        self.exec_idle.clear()
        self.exec_wake.set()

    async def exec_loop(self) -> None:
        while True:
            if not self.exec_queue:
                self.exec_idle.set()
                self.exec_wake.clear()
                await self.exec_wake.wait()
                continue
            name, band, line = self.exec_queue.popleft()
            self.exec_running = True
            try:
                await self.run_exec(name, band, line)
            finally:
                self.exec_running = False

    async def run_exec(self, name: str, band: str, line: str) -> None:
        import asyncio
        import subprocess

        argv = self.st.exec_argv or ()
        env = {**os.environ, "MAMCLI_EVENT": name, "MAMCLI_BAND": band}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.PIPE, stdout=sys.stderr.fileno(), env=env
            )
        except OSError as e:
            self.warn(f"--exec: {argv[0]}: cannot run ({escape(e.strerror or e)}) for the {name} event")
            return
        try:
            await asyncio.wait_for(proc.communicate((line + "\n").encode("utf-8")), self.st.exec_timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            self.warn(f"--exec: {argv[0]}: killed after {self.st.exec_timeout_s:g} s ({name} event)")
            return
        except asyncio.CancelledError:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode:
            self.warn(f"--exec: {argv[0]}: exited with status {proc.returncode} ({name} event)")

    async def drain_exec(self, tasks: list[asyncio.Task[None]]) -> None:
        """Let the commands already waiting run (at most the exec time limit in all), then stop the worker."""
        import asyncio

        self.exec_wake.set()
        try:
            await asyncio.wait_for(self.exec_idle.wait(), self.st.exec_timeout_s)
        except TimeoutError:
            self.warn(f"--exec: stopping with {len(self.exec_queue)} events still waiting; they are dropped")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------------------------------------- entry


def seed(st: Settings, environ: Mapping[str, str] = os.environ) -> tuple[Portfolio, datetime | None, Client]:
    """The starting state and the REST client: the live account (signed) or the portfolio file."""
    from mamcli.netclient import Client

    if st.live:
        from mamcli import live, sources

        api = live.client(st.base_url, environ, st.timeout, where="watch --live")
        pf, as_of = sources.live_portfolio(api, st.rules, st.tier)
        return pf, as_of, api
    from mamcli.portfolio import load_account

    assert st.portfolio is not None
    pf, as_of = load_account(st.portfolio, rules=st.rules, tier=st.tier)
    return pf, as_of, Client(st.base_url, st.timeout)


def run(st: Settings, environ: Mapping[str, str] = os.environ) -> int:
    """Seed, then watch until --duration, --until, SIGINT or SIGTERM.  InputError before the start."""
    import asyncio

    pf, as_of, api = seed(st, environ)

    def out(text: str) -> None:
        data = text if st.view else text + "\n"
        sys.stdout.buffer.write(data.encode("utf-8", "replace"))
        sys.stdout.buffer.flush()

    def err(text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    watcher = Watcher(st, pf, as_of, api, out, err)
    return asyncio.run(watcher.main())
