"""The one place that turns a result dict into text: JSON for scripts, tables for people.

JSON numbers are written from the Decimal's own digits (rounded half-up to 8 places), never through float.
Table cells are pre-formatted strings handed to tabulate with number parsing off, so tabulate never
reformats a Decimal.  json and tabulate are imported only on their own path (start-up cost).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from mamcli.model import Record, Rows
from mamcli.numbers import fixed, json_number, plain
from mamcli.results import OMITTED_WHEN_NONE

Doc = dict[str, Any]  # a result as the table views read it (see as_plain)

# ---------------------------------------------------------------------------------------------- records


def _is_record(v: object) -> bool:
    return isinstance(v, Record)


def _items(record: Any) -> Iterator[tuple[str, Any]]:
    """A result record's (JSON key, value) pairs: `from_` is written `from`; optional fields left out when None."""
    for name in record._fields:
        value = getattr(record, name)
        if value is None and name in OMITTED_WHEN_NONE:
            continue
        yield (name[:-1] if name.endswith("_") else name), value


def as_plain(v: Any) -> Any:
    """A result as plain dicts and lists (the table views read it by key)."""
    if _is_record(v):
        return {k: as_plain(x) for k, x in _items(v)}
    if isinstance(v, dict):
        return {k: as_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, Rows)):
        return [as_plain(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------- JSON


def write_json(value: Any, out: IO[str]) -> None:
    """Write the JSON text of a result (indent 2) to `out`, flushing as it goes so a large result is
    streamed rather than built whole in memory."""
    from json.encoder import encode_basestring  # the C string encoder; only on the JSON path

    parts: list[str] = []
    keys: dict[str, str] = {}

    def enc(v: Any, indent: str) -> None:
        if isinstance(v, Decimal):
            parts.append(json_number(v))
        elif v is None:
            parts.append("null")
        elif v is True:
            parts.append("true")
        elif v is False:
            parts.append("false")
        elif isinstance(v, int):
            parts.append(str(v))
        elif isinstance(v, str):
            parts.append(encode_basestring(v))
        elif isinstance(v, dict) or _is_record(v):
            pairs = v.items() if isinstance(v, dict) else _items(v)
            inner = indent + "  "
            sep = "{\n" + inner
            empty = True
            for k, x in pairs:
                empty = False
                text = keys.get(k)
                if text is None:
                    text = keys[k] = encode_basestring(str(k)) + ": "
                parts.append(sep)
                parts.append(text)
                enc(x, inner)
                sep = ",\n" + inner
            parts.append("{}" if empty else "\n" + indent + "}")
        elif isinstance(v, (list, tuple, Rows)):
            if not v:
                parts.append("[]")
                return
            inner = indent + "  "
            sep = "[\n" + inner
            for x in v:
                parts.append(sep)
                enc(x, inner)
                sep = ",\n" + inner
                if len(parts) > 8192:
                    out.write("".join(parts))
                    parts.clear()
            parts.append("\n" + indent + "]")
        else:
            raise TypeError(f"cannot write {type(v).__name__} as JSON")  # a float here is a bug

    enc(value, "")
    parts.append("\n")
    out.write("".join(parts))


def to_json(value: Any) -> str:
    import io

    out = io.StringIO()
    write_json(value, out)
    return out.getvalue()[:-1]


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
    return "—" if d is None else fixed(d, 2) if abs(d) >= 100 else plain(d, 8)


BAR_WIDTH = 40


def bar(ratio: Decimal | None) -> str:
    """The margin ratio as a bar: full width at 100 % (liquidation), eighths of a cell below."""
    if ratio is None or ratio >= 1:
        return "█" * BAR_WIDTH + " LIQUIDATION"
    eighths = int(ratio * BAR_WIDTH * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


_BAND_COLOUR = {"green": "32", "yellow": "33", "red": "31", "liquidation": "1;41;97"}


def band(name: str, colour: bool) -> str:
    text = name.upper()
    return f"\x1b[{_BAND_COLOUR[name]}m{text}\x1b[0m" if colour else text


def _table(rows: list[list[str]], headers: list[str], numeric_from: int = 1, text_last: int = 0) -> str:
    """A table of pre-formatted cells: text columns left, numbers right (the last `text_last` left too)."""
    from tabulate import tabulate  # only on the table path

    n = len(headers)
    align = ["left"] * numeric_from + ["right"] * (n - numeric_from - text_last) + ["left"] * text_last
    text: str = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True, colalign=align)
    return text


def _pairs(rows: list[list[str]]) -> str:
    from tabulate import tabulate

    text: str = tabulate(rows, tablefmt="plain", disable_numparse=True, colalign=("left", "right"))
    return text


def header_width() -> int | None:
    """The width the header folds to: COLUMNS when set, else the terminal's; None (no folding) for a pipe or
    a file, so that a script reading the output finds the same lines whatever the length of a path."""
    import os
    import sys

    text = os.environ.get("COLUMNS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    try:
        if sys.stdout is not None and sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        pass
    return None


def _header(r: Doc, source: str | None) -> str:
    """`mamcli COMMAND · PATH · [SOURCE ·] as of TIME · MODE · rules R · tier T` (SPEC §9: the source when it
    is not the file alone, the time of the data when it is known), folded at ` · ` to the terminal's width
    (`header_width`; a part longer than that stands alone on its line)."""
    parts = [f"mamcli {r['command']}"]
    if source:
        parts.append(source)
    if r.get("source", "file") != "file":
        parts.append(r["source"])
    if r.get("as_of"):
        parts.append("as of " + r["as_of"].replace("T", " ").replace("Z", " UTC"))
    parts += [r["mode"], f"rules {r['rules']}", f"tier {r['tier']}"]
    width = header_width()
    lines = [parts[0]]
    for part in parts[1:]:
        if width is None or len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def _assumptions(r: Doc) -> str:
    if not r["assumptions"]:
        return ""
    return "\n\nassumptions:\n" + "\n".join(f"  - {a}" for a in r["assumptions"])


# ---------------------------------------------------------------------------------------------- commands


def _equity(r: Doc, colour: bool) -> list[str]:
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
        ["equity after haircuts (USD)", usd(r["equity_usd"])],
        ["initial margin (USD)", usd(r["initial_margin_usd"])],
        ["available for orders (USD)", usd(r["available_usd"])],
    ]
    avail = [[k, qty(v)] for k, v in r["available"].items()]
    out = [_table(rows, heads), "", _pairs(summary)]
    if avail:
        out += ["", "available per asset:", _pairs(avail)]
    return out


def _positions_table(positions: list[Doc]) -> str:
    rows = [
        [
            p["symbol"],
            p["side"],
            p["margin_asset"],
            qty(p["quantity"]),
            qty(p["mark_price"]),
            usd(p["notional"]),
            usd(p["unrealized_pnl"]),
            pct(p["maint_margin_rate"]),
            usd(p["maint_margin"]),
            usd(p["maint_margin_usd"]),
        ]
        + ([price(p["liquidation_price"])] if "liquidation_price" in p else [])
        for p in positions
    ]
    heads = ["symbol", "side", "margin", "qty", "mark", "notional", "uPnL", "MMR", "maint", "maint USD"]
    if positions and "liquidation_price" in positions[0]:
        heads.append("liq. price")
    return _table(rows, heads, numeric_from=3)


def _risk(r: Doc, colour: bool) -> list[str]:
    summary = [
        ["margin ratio", pct(r["margin_ratio"])],
        ["band", band(r["band"], colour)],
        ["equity (USD)", usd(r["equity_usd"])],
        ["maintenance margin (USD)", usd(r["maint_margin_usd"])],
        ["buffer to liquidation (USD)", usd(r["buffer_usd"])],
        ["clearance fee (USD)", usd(r["clearance_fee_usd"])],
    ]
    out = [_pairs(summary)]
    if r["positions"]:
        out += ["", _positions_table(r["positions"])]
    if r.get("pools"):
        rows = [
            [p["pool"], qty(p["equity"]), qty(p["maint_margin"]), pct(p["margin_ratio"]), band(p["band"], colour)]
            for p in r["pools"]
        ]
        out += ["", "single-asset pools (asset units):", _table(rows, ["pool", "equity", "maint", "ratio", "band"])]
    if r.get("liquidation_shocks"):
        rows = [[k, shock(v["down"]), shock(v["up"])] for k, v in r["liquidation_shocks"].items()]
        out += [
            "",
            "shock of index price and marks that liquidates the account:",
            _table(rows, ["asset", "down", "up"]),
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
        out += ["", "the same account in each margin layout:", _table(rows, [""] + [x["layout"] for x in layouts])]
    return out


def _stress(r: Doc, colour: bool) -> list[str]:
    rows = [
        [
            shock(s["shock"]),
            usd(s["equity_usd"]),
            usd(s["maint_margin_usd"]),
            pct(s["margin_ratio"]),
            band(s["band"], colour),
            "yes" if s["autoexchange"] else "no",
            bar(s["margin_ratio"]),
        ]
        for s in r["steps"]
    ]
    liq = r["liquidation_shock"]
    verdict = (
        f"liquidation at {r['asset']} shock {shock(liq, 4)} (exact)"
        if liq is not None
        else f"no liquidation between {shock(r['from'])} and {shock(r['to'])}"
    )
    table = _table(
        rows,
        [
            f"{r['asset']} shock",
            "equity USD",
            "maint USD",
            "ratio",
            "band",
            "auto-exchange",
            "margin ratio (bar full at 100 %)",
        ],
        text_last=1,
    )
    return [verdict, "", table]


def _ltv(r: Doc, colour: bool) -> list[str]:
    rows = [
        ["LTV", "unbounded" if r["ltv"] is None else plain(r["ltv"], 8)],
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


def _autoexchange(r: Doc, colour: bool) -> list[str]:
    status = "TRIGGERED" if r["triggered"] else "not triggered"
    out = [f"auto-exchange: {status}"]
    out += [f"  - {_trigger_text(t)}" for t in r["triggers"]]
    if r["deficits"]:
        rows = [
            [d["asset"], qty(d["quantity"]), qty(d["rate"]), usd(d["value_usd"]), qty(d["covered_quantity"])]
            for d in r["deficits"]
        ]
        out += ["", _table(rows, ["deficit", "quantity", "AE ask rate", "cost USD", "covered"])]
    if r["sales"]:
        rows = [
            [s["asset"], qty(s["quantity"]), qty(s["rate"]), usd(s["value_usd"]), usd(s["proceeds_usd"])]
            for s in r["sales"]
        ]
        out += ["", _table(rows, ["sold", "quantity", "AE bid rate", "value USD", "proceeds USD"])]
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
        out += ["", "distance to the threshold (headroom: how much further the balance may fall):"]
        out += [_table(rows, ["asset", "threshold", "balance", "headroom"])]
    return out


def _switch(r: Doc, colour: bool) -> list[str]:
    verdict = "allowed" if r["allowed"] else "REFUSED"
    out = [f"switch {r['from']} -> {r['to']}: {verdict}"]
    for b in r["blockers"]:
        code = f" [{b['binance_code']}]" if b["binance_code"] is not None else ""
        out.append(f"  - {b['reason']}{code}: {b['message']}")
    before, after = r["preview"]["from"], r["preview"]["to"]
    rows = [
        ["equity (USD)", usd(before["equity_usd"]), usd(after["equity_usd"])],
        ["maintenance margin (USD)", usd(before["maint_margin_usd"]), usd(after["maint_margin_usd"])],
        ["margin ratio", pct(before["margin_ratio"]), pct(after["margin_ratio"])],
        ["band", band(before["band"], colour), band(after["band"], colour)],
    ]
    out += ["", _table(rows, ["", f"now: {before['mode']}", f"after: {after['mode']}"])]
    return out


def _rules(r: Doc, colour: bool) -> list[str]:
    if not r["detail"]:
        rows = [[p["name"], p["description"]] for p in r["profiles"]]
        return [
            _table(rows, ["profile", "description"], numeric_from=2),
            "",
            "show one: mamcli rules NAME; use one: mamcli --rules NAME COMMAND PORTFOLIO",
        ]
    p = r["profiles"][0]
    out = [
        f"rules {p['name']}: {p['description']}",
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
    out += [
        "",
        "auto-exchange thresholds (first tier is the default):",
        _table(tiers, ["tier", "threshold"], numeric_from=2),
    ]
    keys = ["haircut", "ask_buffer", "autoexchange_haircut", "autoexchange_ask_buffer"]
    rows = [[a] + [plain(f[k]) if k in f else "—" for k in keys] for a, f in p["assets"].items()]
    out += ["", _table(rows, ["asset", "haircut", "ask buffer", "AE haircut", "AE ask buffer"])]
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


def write(result: Any, as_json: bool, out: IO[str], colour: bool = False, source: str | None = None) -> None:
    """Write the rendering of a result and a final newline to the text stream `out`."""
    if as_json:
        write_json(result, out)
    else:
        out.write(render(result, False, colour, source) + "\n")


def render(result: Any, as_json: bool, colour: bool = False, source: str | None = None) -> str:
    """The text of a result: one JSON object, or a header, the command's tables and the assumptions."""
    if as_json:
        return to_json(result)
    result = as_plain(result)
    body = _VIEWS[result["command"]](result, colour)
    if "assumptions" not in result:
        return "\n".join(body)
    return "\n".join([_header(result, source), "", *body]) + _assumptions(result)
