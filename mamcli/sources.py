"""Where an account comes from when it is live (SPEC §9 "Sources" and "watch"): imported only on live paths.

- `live_portfolio(api)`: the signed account as `import --live` fetches it, plus the public exchangeInfo
  (auto-exchange thresholds, liquidation fees), built in memory: no file is written.
- `refresh_prices(pf, api)`: `--live-prices`: every mark, index price and buffer of a portfolio refreshed from
  the public, unsigned premiumIndex and assetIndex; what the responses do not cover keeps the file's value and
  is named.
- `apply_mark`, `apply_asset_index`, `apply_account_update`, `apply_config_update`: one WebSocket frame (already
  decoded through `mamcli.jsonin.parse_json`, see `decode_frame`) applied to a Portfolio, giving a new one.

`as_of` is the newest `time`, `updateTime`, `serverTime` or `E` stamp (milliseconds since the epoch) in the
responses, else the newest HTTP `Date` header.  Every number passes through `mamcli.numbers.D`; every problem
is an InputError whose lines name the response or frame and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from mamcli.model import InputError, Portfolio, Position
from mamcli.numbers import ONE, ZERO, D, NumberError
from mamcli.portfolio import is_asset_name, is_symbol_name
from mamcli.stamps import newest_stamp
from mamcli.text import escape

if TYPE_CHECKING:
    from mamcli.netclient import Client, Reply

LIVE_LABEL = "<live account>"
PREMIUM_INDEX = "/fapi/v1/premiumIndex"
ASSET_INDEX = "/fapi/v1/assetIndex"

# assetIndex REST field -> (Asset field, stream key of !assetIndex@arr)
BUFFERS = (
    ("bidBuffer", "haircut", "b"),
    ("askBuffer", "ask_buffer", "a"),
    ("autoExchangeBidBuffer", "ae_haircut", "q"),
    ("autoExchangeAskBuffer", "ae_ask_buffer", "g"),
)


class Resync(Exception):
    """An update names something the state cannot place (an asset with no price, a symbol with no brackets):
    the account must be fetched again from REST."""


# ---------------------------------------------------------------------------------------------- time


def as_of(replies: Iterable[Reply]) -> datetime | None:
    """SPEC §9: the newest stamp in the bodies, else the newest HTTP Date header."""
    replies = list(replies)
    stamp = newest_stamp(r.body for r in replies)
    if stamp is not None:
        return stamp
    dates = [d for d in (r.date for r in replies) if d is not None]
    return max(dates) if dates else None


# ---------------------------------------------------------------------------------------------- REST


def live_portfolio(api: Client, rules: str | None = None, tier: str | None = None) -> tuple[Portfolio, datetime | None]:
    """The whole account behind the client's key (`import --live`'s five responses and exchangeInfo), as a
    Portfolio labelled `<live account>`, and the time of its data."""
    from mamcli import importer, live
    from mamcli.portfolio import load_text

    replies = live.fetch_replies(api)
    payloads = importer.Payloads()
    for kind, (label, reply) in replies.items():
        payloads.add(kind, label, reply.body)
    doc, report = importer.build(payloads)
    text = importer.to_toml(doc, report["notes"])
    pf = load_text(text, LIVE_LABEL, rules=rules, tier=tier)
    notes = tuple(f"live: {n}" for n in report["notes"])
    return pf._replace(assumptions=pf.assumptions + notes), as_of([r for _, r in replies.values()])


def _by_symbol(body: object, label: str) -> dict[str, dict[str, object]]:
    """Rows of a list response (or a single-object answer) by their `symbol`."""
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise InputError([f"{label}: expected a JSON array of rows with a 'symbol'"])
    return {r["symbol"]: r for r in rows if isinstance(r, dict) and isinstance(r.get("symbol"), str)}


def _number(label: str, key: str, row: Mapping[str, object], field: str) -> Decimal | None:
    """D(row[field]), None when absent or empty; a bad value is an InputError naming label and key."""
    value = row.get(field)
    if value is None or value == "":
        return None
    try:
        return D(value)
    except NumberError as err:
        raise InputError([f"{escape(label)}: {escape(key)}.{field}: {err}"]) from None


def _price(label: str, key: str, row: Mapping[str, object], field: str) -> Decimal | None:
    d = _number(label, key, row, field)
    if d is not None and d <= 0:
        raise InputError([f"{escape(label)}: {escape(key)}.{field}: must be greater than 0 (got {d})"])
    return d


def _fraction(label: str, key: str, row: Mapping[str, object], field: str) -> Decimal | None:
    d = _number(label, key, row, field)
    if d is not None and not ZERO <= d < ONE:
        raise InputError([f"{escape(label)}: {escape(key)}.{field}: must be at least 0 and below 1 (got {d})"])
    return d


def _with_marks(pf: Portfolio, marks: Mapping[str, Decimal]) -> Portfolio:
    if not any(p.symbol in marks and marks[p.symbol] != p.mark_price for p in pf.positions):
        return pf
    positions = tuple(p._replace(mark_price=marks[p.symbol]) if p.symbol in marks else p for p in pf.positions)
    return pf._replace(positions=positions)


def _with_index(pf: Portfolio, rows: Mapping[str, Mapping[str, Decimal]]) -> Portfolio:
    """Assets whose `rows[name]` (Asset field -> value) differ, replaced."""
    changed = {}
    for name, fields in rows.items():
        asset = pf.assets.get(name)
        if asset is not None and any(getattr(asset, k) != v for k, v in fields.items()):
            changed[name] = asset._replace(**fields)
    if not changed:
        return pf
    return pf._replace(assets={n: changed.get(n, a) for n, a in pf.assets.items()})


def refresh_prices(pf: Portfolio, api: Client) -> tuple[Portfolio, datetime | None, list[str]]:
    """`--live-prices`: marks from GET /fapi/v1/premiumIndex, index prices and buffers from GET
    /fapi/v1/assetIndex (both public, unsigned); live values win over the file's.

    Returns the refreshed Portfolio (its assumptions already carry the notes), the time of the data, and the
    notes: one for the refresh itself and one per position or asset the responses do not cover (those keep
    the file's values).
    """
    marks_label, index_label = f"GET {PREMIUM_INDEX}", f"GET {ASSET_INDEX}"
    marks_reply = api.get(PREMIUM_INDEX)
    index_reply = api.get(ASSET_INDEX)
    mark_rows = _by_symbol(marks_reply.body, marks_label)
    index_rows = _by_symbol(index_reply.body, index_label)
    marks: dict[str, Decimal] = {}
    missing_marks: dict[str, None] = {}
    for pos in pf.positions:
        row = mark_rows.get(pos.symbol)
        mark = _price(marks_label, pos.symbol, row, "markPrice") if row is not None else None
        if mark is None:
            missing_marks[pos.symbol] = None
        else:
            marks[pos.symbol] = mark
    fields: dict[str, dict[str, Decimal]] = {}
    missing_assets: list[str] = []
    partial: list[str] = []
    for name in pf.assets:
        row = index_rows.get(f"{name}USD")
        price = _price(index_label, f"{name}USD", row, "index") if row is not None else None
        if row is None or price is None:
            missing_assets.append(name)
            continue
        got = {"price": price}
        for rest, ours, _ in BUFFERS:
            value = _fraction(index_label, f"{name}USD", row, rest)
            if value is not None:
                got[ours] = value
        if len(got) < 1 + len(BUFFERS):
            partial.append(name)
        fields[name] = got
    refreshed = _with_index(_with_marks(pf, marks), fields)
    notes = [f"live prices: marks from {marks_label}, index prices and buffers from {index_label} (they win)"]
    if missing_marks:
        notes.append(f"live prices: no mark for {', '.join(missing_marks)} in {marks_label}; the file's mark is kept")
    if missing_assets:
        notes.append(
            f"live prices: no index row for {', '.join(missing_assets)} in {index_label}; the file's price and "
            "buffers are kept"
        )
    if partial:
        notes.append(f"live prices: {', '.join(partial)}: some buffers missing in {index_label}; the file's kept")
    # the profile's stand-in buffers no longer describe an asset whose buffers all came from the index
    fresh = [n for n in fields if n not in partial]
    kept = tuple(a for a in pf.assumptions if not any(a.startswith(f"{n}: ") and " from rules " in a for n in fresh))
    refreshed = refreshed._replace(assumptions=kept + tuple(notes))
    return refreshed, as_of([marks_reply, index_reply]), notes


# ---------------------------------------------------------------------------------------------- frames


def decode_frame(data: str | bytes, label: str) -> object:
    """A WebSocket text frame through the JSON door (Decimal numbers, no NaN, bounded nesting)."""
    from mamcli.jsonin import parse_json

    return parse_json(data.encode("utf-8") if isinstance(data, str) else data, label)


def _object(frame: object, label: str) -> dict[str, object]:
    if not isinstance(frame, dict):
        raise InputError([f"{escape(label)}: expected a JSON object"])
    return frame


def apply_mark(pf: Portfolio, frame: object, label: str = "markPriceUpdate") -> Portfolio:
    """A `<symbol>@markPrice` frame ({"e":"markPriceUpdate","E":…,"s":"BTCUSDT","p":"<mark>",…}): the mark of
    every position on that symbol (both sides in hedge mode) becomes `p`."""
    row = _object(frame, label)
    symbol = row.get("s")
    if not isinstance(symbol, str):
        raise InputError([f"{escape(label)}: s: missing (the symbol)"])
    mark = _price(label, symbol, row, "p")
    if mark is None:
        raise InputError([f"{escape(label)}: {escape(symbol)}.p: missing (the mark price)"])
    return _with_marks(pf, {symbol: mark})


def apply_asset_index(pf: Portfolio, frame: object, label: str = "!assetIndex@arr") -> Portfolio:
    """An `!assetIndex@arr` frame (a list of {"s":"BTCUSD","i":index,"b","a","q","g":buffers,…}, or one such
    object): index price and buffers of every held asset it names."""
    rows = frame if isinstance(frame, list) else [_object(frame, label)]
    fields: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("s"), str):
            continue
        symbol = str(row["s"])
        if not symbol.endswith("USD") or symbol[:-3] not in pf.assets:
            continue
        got: dict[str, Decimal] = {}
        price = _price(label, symbol, row, "i")
        if price is not None:
            got["price"] = price
        for _, ours, key in BUFFERS:
            value = _fraction(label, symbol, row, key)
            if value is not None:
                got[ours] = value
        fields[symbol[:-3]] = got
    return _with_index(pf, fields)


def apply_account_update(pf: Portfolio, frame: object, label: str = "ACCOUNT_UPDATE") -> Portfolio:
    """An ACCOUNT_UPDATE (`a.B[]`: `a` asset, `wb`, `cw` cross wallet; `a.P[]`: `s`, `pa` signed amount, `ep`,
    `up`, `mt`, `iw`, `ps`): the balances and positions it names are replaced, the others kept.

    A balance is the cross wallet (`cw`, else `wb`).  A position is keyed by symbol and side (`ps` LONG/SHORT;
    BOTH: the symbol's one-way position); an amount of 0 closes it.  A known position keeps its mark (the mark
    stream moves it); a new one takes mark = ep + up / pa (from up = pa × (mark − ep)), the leverage Binance
    defaults to, and brackets from another position on the symbol or the profile's snapshot.  An asset not
    in the state, or a new symbol with no brackets, raises Resync.
    """
    body = _object(_object(frame, label).get("a"), f"{label}: a")
    balances = body.get("B", [])
    rows = body.get("P", [])
    if not isinstance(balances, list) or not isinstance(rows, list):
        raise InputError([f"{escape(label)}: a.B and a.P must be lists"])
    assets = dict(pf.assets)
    for i, row in enumerate(balances):
        key = f"a.B[{i}]"
        name = row.get("a") if isinstance(row, dict) else None
        if not isinstance(name, str) or not is_asset_name(name):
            raise InputError([f"{escape(label)}: {key}.a: missing or not an asset name"])
        value = _number(label, f"{key}({name})", row, "cw")
        if value is None:
            value = _number(label, f"{key}({name})", row, "wb")
        if value is None:
            raise InputError([f"{escape(label)}: {key}({name}).cw: missing"])
        if name not in assets:
            if value == 0:
                continue
            raise Resync(f"{label}: {name} is not in the account state")
        assets[name] = assets[name]._replace(balance=value)
    positions = list(pf.positions)
    for i, row in enumerate(rows):
        positions = _apply_position(pf, positions, assets, row, f"{label}: a.P[{i}]")
    return pf._replace(assets=assets, positions=tuple(positions))


def _apply_position(
    pf: Portfolio, positions: list[Position], assets: Mapping[str, object], row: object, label: str
) -> list[Position]:
    if not isinstance(row, dict):
        raise InputError([f"{escape(label)}: expected an object"])
    symbol = row.get("s")
    if not isinstance(symbol, str) or not is_symbol_name(symbol):
        raise InputError([f"{escape(label)}.s: missing or not a futures symbol"])
    amount = _number(label, symbol, row, "pa")
    entry = _number(label, symbol, row, "ep")
    if amount is None or entry is None:
        raise InputError([f"{escape(label)}: {symbol}: pa and ep are required"])
    ps = row.get("ps", "BOTH")
    if ps not in ("BOTH", "LONG", "SHORT"):
        raise InputError([f"{escape(label)}: {symbol}.ps: expected BOTH, LONG or SHORT, got {escape(ps)!r}"])

    def same(p: Position) -> bool:
        return p.symbol == symbol and (ps == "BOTH" or p.side == (1 if ps == "LONG" else -1))

    old = next((p for p in positions if same(p)), None)
    kept = [p for p in positions if not same(p)]
    if amount == 0:
        return kept
    side = 1 if ps == "LONG" else -1 if ps == "SHORT" else (1 if amount > 0 else -1)
    margin_type = row.get("mt", old.margin_type if old else "cross")
    if margin_type not in ("cross", "isolated"):
        raise InputError([f"{escape(label)}: {symbol}.mt: expected cross or isolated, got {escape(margin_type)!r}"])
    wallet = _number(label, symbol, row, "iw") if margin_type == "isolated" else ZERO
    changes = {
        "side": side,
        "quantity": abs(amount),
        "entry_price": entry,
        "margin_type": margin_type,
        "isolated_wallet": wallet or ZERO,
    }
    if old is not None:
        new = old._replace(**changes)
    else:
        new = _new_position(pf, assets, symbol, row, amount, entry, label)._replace(**changes)
    index = next((i for i, p in enumerate(positions) if same(p)), len(kept))
    kept.insert(min(index, len(kept)), new)
    return kept


def _new_position(
    pf: Portfolio,
    assets: Mapping[str, object],
    symbol: str,
    row: Mapping[str, object],
    amount: Decimal,
    entry: Decimal,
    label: str,
) -> Position:
    """A position the state did not hold: mark from uPnL, brackets from a twin or the profile's snapshot."""
    from mamcli.portfolio import DEFAULT_LEVERAGE, split_symbol

    upnl = _number(label, symbol, row, "up") or ZERO
    mark = entry + upnl / amount
    twin = next((p for p in pf.positions if p.symbol == symbol), None)
    margin_asset = row.get("ma")
    core = symbol.split("_", 1)[0]
    if not isinstance(margin_asset, str):
        margin_asset = twin.margin_asset if twin else None
    if margin_asset is None:
        _, margin_asset = split_symbol(symbol, frozenset(assets))
    brackets = twin.brackets if twin else pf.rules.brackets.get(symbol, ())
    if (
        margin_asset is None
        or margin_asset not in assets
        or mark <= 0
        or (not brackets and not (twin and twin.maint_margin_rate))
    ):
        raise Resync(f"{label}: a new position on {symbol} that the state cannot place")
    quote = margin_asset if core.endswith(margin_asset) else None
    return Position(
        symbol=symbol,
        side=1,
        quantity=abs(amount),
        entry_price=entry,
        mark_price=mark,
        margin_asset=margin_asset,
        base_asset=core[: -len(quote)] if quote else (twin.base_asset if twin else None),
        leverage=twin.leverage if twin else DEFAULT_LEVERAGE,
        margin_type="cross",
        isolated_wallet=ZERO,
        contract="delivery" if "_" in symbol else "perpetual",
        maint_margin_rate=twin.maint_margin_rate if twin else None,
        maint_amount=twin.maint_amount if twin else ZERO,
        brackets=brackets,
        liquidation_fee=twin.liquidation_fee
        if twin
        else pf.rules.liquidation_fees.get(symbol, pf.rules.default_liquidation_fee),
    )


def apply_config_update(pf: Portfolio, frame: object, label: str = "ACCOUNT_CONFIG_UPDATE") -> Portfolio:
    """An ACCOUNT_CONFIG_UPDATE with `ac` ({"s": symbol, "l": leverage}): the leverage of that symbol's positions.
    Other config updates (`ai`: the multi-assets mode) leave the state as it is."""
    ac = _object(frame, label).get("ac")
    if not isinstance(ac, dict):
        return pf
    symbol = ac.get("s")
    leverage = _price(label, str(symbol), ac, "l")
    if not isinstance(symbol, str) or leverage is None:
        return pf
    positions = tuple(p._replace(leverage=leverage) if p.symbol == symbol else p for p in pf.positions)
    return pf._replace(positions=positions)
