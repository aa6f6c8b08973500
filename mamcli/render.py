"""The one place that turns a result dict into text: JSON for scripts, tables for people.

JSON numbers are written from the Decimal's own digits (rounded half-up to 8 places), never through float.
Table cells are pre-formatted strings handed to tabulate with number parsing off, so tabulate never
reformats a Decimal.  json and tabulate are imported only on their own path (start-up cost).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mamcli.jsonout import is_record, record_items, to_json, write_json
from mamcli.model import Record, Rows
from mamcli.numbers import figure, fixed, plain

if TYPE_CHECKING:
    from _typeshed import SupportsWrite  # any text stream: a file, console.Sink, batch.OneLine

Doc = dict[str, Any]  # a result as the table views read it (see as_plain)

# ---------------------------------------------------------------------------------------------- records


def as_plain(v: Any) -> Any:
    """A result as plain dicts and lists (the table views read it by key)."""
    if is_record(v):
        return {k: as_plain(x) for k, x in record_items(v)}
    if isinstance(v, dict):
        return {k: as_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, Rows)):
        return [as_plain(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------- JSON


# ---------------------------------------------------------------------------------------------- cells


def usd(d: Decimal | None) -> str:
    return "—" if d is None else fixed(d, 2)


def qty(d: Decimal | None) -> str:
    return "—" if d is None else plain(d, 8)


def pct(d: Decimal | None) -> str:
    return "unbounded" if d is None else fixed(d * 100, 2) + " %"


def shock(d: Decimal | None, places: int = 2) -> str:
    if d is None:
        return "—"
    text = fixed(d * 100, places) + " %"
    return text if d <= 0 else "+" + text


def price(d: Decimal | None) -> str:
    return "—" if d is None else figure(d)


BAR_WIDTH = 40
BAR_SUFFIX = " LIQUIDATION"


def bar(ratio: Decimal | None, cells: int = BAR_WIDTH, suffix: bool = True) -> str:
    """The margin ratio as a bar: `cells` wide at 100 % (liquidation), eighths of a cell below."""
    if ratio is None or ratio >= 1:
        return "█" * cells + (BAR_SUFFIX if suffix else "")
    eighths = int(ratio * cells * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


_BAND_COLOUR = {"green": "32", "yellow": "33", "red": "31", "liquidation": "1;41;97"}


def band(name: str, colour: bool) -> str:
    text = name.upper()
    return f"\x1b[{_BAND_COLOUR[name]}m{text}\x1b[0m" if colour else text


def bold(text: str, colour: bool) -> str:
    """What matters most, in bold on a terminal that shows colour."""
    return f"\x1b[1m{text}\x1b[0m" if colour else text


# ---------------------------------------------------------------------------------------------- the screen


class Screen(Record):
    """How the tables are drawn: colour or not, the width to fit (None: no limit), the assumptions listed."""

    colour: bool = False
    width: int | None = None
    verbose: bool = False


def columns() -> int | None:
    """The width the tables must fit: COLUMNS when set, else the terminal's; None when output is not a terminal
    (a file or a pipe gets the full table).  What shutil.get_terminal_size does, without importing shutil
    (bz2 and lzma with it: 1.6 ms on every table)."""
    import os

    from mamcli.console import is_terminal

    text = os.environ.get("COLUMNS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    if not is_terminal():
        return None
    try:
        import sys

        return os.get_terminal_size(sys.stdout.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def width_of(text: str) -> int:
    """Columns a line takes on a terminal: colour codes take none, East Asian wide characters two."""
    import re
    import unicodedata

    plain_text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    if plain_text.isascii():
        return len(plain_text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in plain_text
    )


def _wrap(text: str, screen: Screen, first: str = "", rest: str = "    ") -> list[str]:
    """A line of prose, broken between words to fit the screen (numbers are never split)."""
    if screen.width is None or width_of(first + text) <= screen.width:
        return [first + text]
    import textwrap

    return textwrap.wrap(
        text,
        max(screen.width, 20),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _table(rows: list[list[str]], headers: list[str], align: str, maxwidths: list[int | None] | None = None) -> str:
    """A table of pre-formatted cells; `align` has one letter per column, l(eft) or r(ight)."""
    from tabulate import tabulate  # only on the table path

    colalign = ["left" if a == "l" else "right" for a in align]
    text: str = tabulate(
        rows, headers=headers, tablefmt="simple", disable_numparse=True, colalign=colalign, maxcolwidths=maxwidths
    )
    return text


def _fit(rows: list[list[str]], headers: list[str], align: str, screen: Screen, drop: tuple[str, ...] = ()) -> str:
    """A table that fits the screen: while it is too wide, the columns named in `drop` are left out, in that
    order (the others are what matters).  tabulate's simple format: each column as wide as its widest cell or
    its header plus 2, two spaces between columns."""
    keep = list(range(len(headers)))
    if screen.width is not None:
        widths = _widths(rows, headers)
        for name in drop:
            if sum(widths[i] for i in keep) + 2 * (len(keep) - 1) <= screen.width:
                break
            keep.remove(headers.index(name))
    return _table([[r[i] for i in keep] for r in rows], [headers[i] for i in keep], "".join(align[i] for i in keep))


def _widths(rows: list[list[str]], headers: list[str]) -> list[int]:
    """Each column's width in tabulate's simple format: its widest cell, or its header plus 2."""
    return [max([width_of(h) + 2] + [width_of(r[i]) for r in rows]) for i, h in enumerate(headers)]


def _pairs(rows: list[list[str]]) -> str:
    from tabulate import tabulate

    text: str = tabulate(rows, tablefmt="plain", disable_numparse=True, colalign=("left", "right"))
    return text


def _header(r: Doc, source: str | None, screen: Screen) -> list[str]:
    """`mamcli COMMAND · PATH · [SOURCE ·] as of TIME · MODE · rules R · tier T` (SPEC §9: the source when it
    is not the file alone, the time of the data when it is known), folded at ` · ` to the screen's width."""
    parts = [f"mamcli {r['command']}", *([source] if source else [])]
    if r.get("source", "file") != "file":
        parts.append(r["source"])
    if r.get("as_of"):
        parts.append("as of " + r["as_of"].replace("T", " ").replace("Z", " UTC"))
    parts += [r["mode"], f"rules {r['rules']}", f"tier {r['tier']}"]
    lines = [parts[0]]
    for part in parts[1:]:
        if screen.width is not None and width_of(f"{lines[-1]} · {part}") > screen.width:
            lines.append(f"  · {part}")
        else:
            lines[-1] += f" · {part}"
    return lines


def _assumptions(r: Doc, screen: Screen) -> list[str]:
    notes = r["assumptions"]
    if not notes:
        return []
    if not screen.verbose:
        n = len(notes)
        return ["", f"{n} assumption: -v lists it" if n == 1 else f"{n} assumptions: -v lists them"]
    out = ["", "assumptions:"]
    for a in notes:
        out += _wrap(a, screen, "  - ")
    return out


# ---------------------------------------------------------------------------------------------- commands


def _equity(r: Doc, screen: Screen) -> list[str]:
    rows = [
        [
            a["asset"],
            qty(a["wallet_balance"]),
            qty(a["unrealized_pnl"]),
            qty(a["margin_balance"]),
            qty(a["price"]),
            qty(a["rate"]),
            usd(a["value_usd"]),
            usd(a["collateral_usd"]),
        ]
        for a in r["assets"]
    ]
    heads = ["asset", "wallet", "uPnL", "margin balance", "price", "rate", "value USD", "collateral USD"]
    summary = [
        ["value at index (USD)", usd(r["value_usd"])],
        ["equity after haircuts (USD)", bold(usd(r["equity_usd"]), screen.colour)],
        ["initial margin (USD)", usd(r["initial_margin_usd"])],
        ["available for orders (USD)", usd(r["available_usd"])],
    ]
    avail = [[k, qty(v)] for k, v in r["available"].items()]
    table = _fit(rows, heads, "lrrrrrrr", screen, drop=("rate", "value USD", "wallet", "uPnL", "price"))
    out = [table, "", _pairs(summary)]
    if avail:
        out += ["", "available per asset:", _pairs(avail)]
    return out


POSITION_COLUMNS = (
    "symbol",
    "side",
    "margin",
    "qty",
    "entry",
    "mark",
    "liq. price",
    "distance",
    "notional",
    "uPnL",
    "lev.",
    "MMR",
    "maint",
    "maint USD",
)
# Left out of a narrow screen in this order; symbol, side, quantity, mark, liquidation price and its distance stay.
POSITION_DROP = ("maint USD", "maint", "MMR", "lev.", "entry", "notional", "margin", "uPnL")


def _positions_table(positions: list[Doc], screen: Screen) -> str:
    rows = [
        [
            p["symbol"],
            p["side"],
            p["margin_asset"],
            qty(p["quantity"]),
            qty(p["entry_price"]),
            qty(p["mark_price"]),
            price(p["liquidation_price"]),
            shock(p["liquidation_distance"]),
            usd(p["notional"]),
            usd(p["unrealized_pnl"]),
            qty(p["leverage"]),
            pct(p["maint_margin_rate"]),
            usd(p["maint_margin"]),
            usd(p["maint_margin_usd"]),
        ]
        for p in positions
    ]
    return _fit(rows, list(POSITION_COLUMNS), "lllrrrrrrrrrrr", screen, drop=POSITION_DROP)


def _nearest(positions: list[Doc], screen: Screen) -> list[str]:
    """The position closest to its liquidation price, in one line: what a trader looks at first."""
    near = [p for p in positions if p["liquidation_distance"] is not None]
    if not near:
        return ["no position has a liquidation price"] if positions else []
    p = min(near, key=lambda p: abs(p["liquidation_distance"]))
    distance = bold(shock(p["liquidation_distance"]), screen.colour)
    text = f"{p['symbol']} {p['side']} at {price(p['liquidation_price'])}, {distance} from its mark"
    return _wrap(text, screen, "nearest liquidation: ")


def _risk(r: Doc, screen: Screen) -> list[str]:
    colour = screen.colour
    summary = [
        ["margin ratio", bold(pct(r["margin_ratio"]), colour)],
        ["band", band(r["band"], colour)],
        ["equity (USD)", usd(r["equity_usd"])],
        ["maintenance margin (USD)", usd(r["maint_margin_usd"])],
        ["buffer to liquidation (USD)", usd(r["buffer_usd"])],
        ["clearance fee (USD)", usd(r["clearance_fee_usd"])],
    ]
    positions = list(r["positions"])
    out = [_pairs(summary), *_nearest(positions, screen)]
    if positions:
        out += ["", _positions_table(positions, screen)]
    if r.get("pools"):
        rows = [
            [p["pool"], qty(p["equity"]), qty(p["maint_margin"]), pct(p["margin_ratio"]), band(p["band"], colour)]
            for p in r["pools"]
        ]
        out += [
            "",
            "single-asset pools (asset units):",
            _fit(rows, ["pool", "equity", "maint", "ratio", "band"], "lrrrl", screen),
        ]
    if r.get("liquidation_shocks"):
        rows = [[k, shock(v["down"]), shock(v["up"])] for k, v in r["liquidation_shocks"].items()]
        out += [
            "",
            "shock of index price and marks that liquidates the account:",
            _fit(rows, ["asset", "down", "up"], "lrr", screen),
        ]
    if r.get("compare"):
        layouts = r["compare"]
        rows = [
            ["equity (USD)"] + [usd(x["equity_usd"]) for x in layouts],
            ["maintenance margin (USD)"] + [usd(x["maint_margin_usd"]) for x in layouts],
            ["margin ratio"] + [pct(x["margin_ratio"]) for x in layouts],
            ["band"] + [band(x["band"], colour) for x in layouts],
        ]
        for k, p in enumerate(layouts[0]["liquidation_prices"]):
            rows.append(
                [f"liq. {p['symbol']} {p['side']}"]
                + [price(x["liquidation_prices"][k]["liquidation_price"]) for x in layouts]
            )
        heads = [""] + [x["layout"] for x in layouts]
        out += ["", "the same account in each margin layout:", _fit(rows, heads, "l" + "r" * len(layouts), screen)]
    return out


def _stress(r: Doc, screen: Screen) -> list[str]:
    rows = [
        [
            shock(s["shock"]),
            usd(s["equity_usd"]),
            usd(s["maint_margin_usd"]),
            pct(s["margin_ratio"]),
            band(s["band"], screen.colour),
            "yes" if s["autoexchange"] else "no",
        ]
        for s in r["steps"]
    ]
    heads = [f"{r['asset']} shock", "equity USD", "maint USD", "ratio", "band", "auto-exchange"]
    liq = r["liquidation_shock"]
    verdict = (
        f"liquidation at {r['asset']} shock {shock(liq, 4)} (exact)"
        if liq is not None
        else f"no liquidation between {shock(r['from'])} and {shock(r['to'])}"
    )
    # The bar takes what the other columns leave: 40 cells and the word LIQUIDATION when there is room, else
    # fewer cells (the band column names liquidation), and the USD columns go before the bar gets short.
    cells, suffix, bar_head = BAR_WIDTH, True, "margin ratio (bar full at 100 %)"
    keep = list(range(len(heads)))
    width = screen.width
    if width is not None:
        widths = _widths(rows, heads)

        def room() -> int:
            return width - sum(widths[i] for i in keep) - 2 * len(keep)

        if room() < BAR_WIDTH + len(BAR_SUFFIX):
            suffix, bar_head = False, "ratio bar, full at 100 %"
            for name in ("maint USD", "equity USD"):
                if room() >= BAR_WIDTH:
                    break
                keep.remove(heads.index(name))
            cells = max(min(BAR_WIDTH, room()), width_of(bar_head) + 2)
    table = _table(
        [
            [row[i] for i in keep] + [bar(s["margin_ratio"], cells, suffix)]
            for row, s in zip(rows, r["steps"], strict=True)
        ],
        [heads[i] for i in keep] + [bar_head],
        "".join("lrrrll"[i] for i in keep) + "l",
    )
    return [verdict, "", table]


def _ltv(r: Doc, screen: Screen) -> list[str]:
    rows = [
        ["LTV", bold("unbounded" if r["ltv"] is None else plain(r["ltv"], 8), screen.colour)],
        ["negative balances at ask (USD)", usd(r["negative_usd"])],
        ["positive balances at bid (USD)", usd(r["positive_usd"])],
        ["trigger", plain(r["trigger"])],
        ["rule applies (no positions, no orders)", "yes" if r["applies"] else "no"],
        ["triggered", "YES" if r["triggered"] else "no"],
    ]
    return [_pairs(rows)]


def _trigger_text(t: Doc) -> str:
    if t["kind"] == "threshold":
        return f"threshold: {t['asset']} balance {qty(t['balance'])} is at or below {qty(t['threshold'])} {t['unit']}"
    if t["kind"] == "liquidation":
        return f"liquidation: margin ratio {pct(t['margin_ratio'])} with a negative balance"
    return f"ltv: {'unbounded' if t['ltv'] is None else plain(t['ltv'])} >= {plain(t['trigger'])} while idle"


def _autoexchange(r: Doc, screen: Screen) -> list[str]:
    status = bold("TRIGGERED", screen.colour) if r["triggered"] else "not triggered"
    out = [f"auto-exchange: {status}"]
    for t in r["triggers"]:
        out += _wrap(_trigger_text(t), screen, "  - ")
    if r["deficits"]:
        rows = [
            [d["asset"], qty(d["quantity"]), qty(d["rate"]), usd(d["value_usd"]), qty(d["covered_quantity"])]
            for d in r["deficits"]
        ]
        out += ["", _fit(rows, ["deficit", "quantity", "AE ask rate", "cost USD", "covered"], "lrrrr", screen)]
    if r["sales"]:
        rows = [
            [s["asset"], qty(s["quantity"]), qty(s["rate"]), usd(s["value_usd"]), usd(s["proceeds_usd"])]
            for s in r["sales"]
        ]
        out += ["", _fit(rows, ["sold", "quantity", "AE bid rate", "value USD", "proceeds USD"], "lrrrr", screen)]
    if r["deficits"]:
        out += [
            "",
            _pairs([["haircut loss (USD)", usd(r["cost_usd"])], ["shortfall (USD)", usd(r["shortfall_usd"])]]),
            "",
            "balances after:",
            _pairs([[k, qty(v)] for k, v in r["balances_after"].items()]),
        ]
    if r["thresholds"]:
        rows = [
            [t["asset"], f"{qty(t['threshold'])} {t['unit']}", qty(t["balance"]), f"{qty(t['headroom'])} {t['unit']}"]
            for t in r["thresholds"]
        ]
        out += ["", *_wrap("distance to the threshold (headroom: how much further the balance may fall):", screen)]
        out += [_fit(rows, ["asset", "threshold", "balance", "headroom"], "lrrr", screen)]
    return out


def _switch(r: Doc, screen: Screen) -> list[str]:
    verdict = "allowed" if r["allowed"] else bold("REFUSED", screen.colour)
    out = [f"switch {r['from']} -> {r['to']}: {verdict}"]
    for b in r["blockers"]:
        code = f" [{b['binance_code']}]" if b["binance_code"] is not None else ""
        out += _wrap(f"{b['reason']}{code}: {b['message']}", screen, "  - ")
    before, after = r["preview"]["from"], r["preview"]["to"]
    rows = [
        ["equity (USD)", usd(before["equity_usd"]), usd(after["equity_usd"])],
        ["maintenance margin (USD)", usd(before["maint_margin_usd"]), usd(after["maint_margin_usd"])],
        ["margin ratio", pct(before["margin_ratio"]), pct(after["margin_ratio"])],
        ["band", band(before["band"], screen.colour), band(after["band"], screen.colour)],
    ]
    out += ["", _fit(rows, ["", f"now: {before['mode']}", f"after: {after['mode']}"], "lrr", screen)]
    return out


def _last_column(rows: list[list[str]], headers: list[str], screen: Screen) -> list[int | None] | None:
    """Widths for a table whose last column is prose: that column wraps to what the others leave."""
    if screen.width is None:
        return None
    first = max([width_of(headers[0]) + 2] + [width_of(r[0]) for r in rows])
    return [None, max(screen.width - first - 2, 20)]


def _rules(r: Doc, screen: Screen) -> list[str]:
    if not r["detail"]:
        rows = [[p["name"], p["description"]] for p in r["profiles"]]
        heads = ["profile", "description"]
        return [
            _table(rows, heads, "ll", _last_column(rows, heads, screen)),
            "",
            *_wrap("show one: mamcli rules NAME; use one: mamcli --rules NAME COMMAND PORTFOLIO", screen),
        ]
    p = r["profiles"][0]
    out = [
        *_wrap(f"rules {p['name']}: {p['description']}", screen),
        "",
        _pairs(
            [
                ["LTV trigger", plain(p["ltv_trigger"])],
                ["yellow from", pct(p["bands"]["yellow"])],
                ["red above", pct(p["bands"]["red"])],
                ["contracts", ", ".join(p["contracts"])],
            ]
        ),
    ]
    tiers = []
    for t in p["tiers"]:
        parts = [f"{plain(v)} {a}" for a, v in t["thresholds"].items()]
        if t["threshold_usd"] is not None:
            parts.append(
                f"{plain(t['threshold_usd'])} USD (other assets)" if parts else f"{plain(t['threshold_usd'])} USD"
            )
        tiers.append([t["name"], ", ".join(parts) or "none"])
    heads = ["tier", "threshold"]
    out += [
        "",
        "auto-exchange thresholds (first tier is the default):",
        _table(tiers, heads, "ll", _last_column(tiers, heads, screen)),
    ]
    keys = ["haircut", "ask_buffer", "autoexchange_haircut", "autoexchange_ask_buffer"]
    stable = set(p.get("stable", ()))
    rows = [
        [a] + [plain(f[k]) if k in f else "—" for k in keys] + ["yes" if a in stable else "—"]
        for a, f in p["assets"].items()
    ]
    heads = ["asset", "haircut", "ask buffer", "AE haircut", "AE ask buffer", "stable"]
    out += ["", _fit(rows, heads, "lrrrrl", screen)]
    if p.get("stand_ins"):
        out += _wrap(f"stand-ins (Binance publishes today's in its assetIndex): {', '.join(p['stand_ins'])}", screen)
    fees = [f"{plain(v)} {k}" for k, v in p.get("liquidation_fees", {}).items()]
    if p.get("default_liquidation_fee") is not None:
        fees.append(f"{plain(p['default_liquidation_fee'])} for other symbols")
    if fees:
        out += ["", *_wrap(f"liquidation fee: {', '.join(fees)}", screen)]
    snapshot = p.get("brackets") or {}
    if snapshot.get("symbols"):
        text = f"bracket snapshot as of {snapshot['as_of']} ({snapshot['source']}): {', '.join(snapshot['symbols'])}"
        out += ["", *_wrap(text, screen)]
    return out


_VIEWS = {
    "equity": _equity,
    "risk": _risk,
    "ltv": _ltv,
    "autoexchange": _autoexchange,
    "switch-check": _switch,
    "stress": _stress,
    "rules": _rules,
}


def write(
    result: Any, as_json: bool, out: SupportsWrite[str], screen: Screen | None = None, source: str | None = None
) -> None:
    """Write the rendering of a result and a final newline to the text stream `out`."""
    if as_json:
        write_json(result, out)
    else:
        out.write(render(result, False, source=source, screen=screen) + "\n")


def render(
    result: Any, as_json: bool, colour: bool = False, source: str | None = None, screen: Screen | None = None
) -> str:
    """The text of a result: one JSON object, or a header, the command's tables and the assumptions folded
    (listed with `screen.verbose`).  Without a screen: no colour unless asked, no width limit."""
    if as_json:
        return to_json(result)
    screen = screen or Screen(colour=colour)
    result = as_plain(result)
    body = _VIEWS[result["command"]](result, screen)
    if "assumptions" not in result:
        return "\n".join(body)
    return "\n".join([*_header(result, source, screen), "", *body, *_assumptions(result, screen)])
