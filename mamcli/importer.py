"""Saved Binance API responses in, a portfolio file out (SPEC §8).

Endpoints (field names as Binance documents them; every number arrives as a string):
- GET /fapi/v2/account (or v3): assets[] asset, crossWalletBalance; multiAssetsMargin; totalMarginBalance,
  totalMaintMargin (used to check the result); positions[] (isolated, leverage when v2);
- GET /fapi/v2/positionRisk or v3: symbol, positionAmt (signed), entryPrice, markPrice, positionSide
  BOTH/LONG/SHORT, leverage and marginType (v2), marginAsset and positionInitialMargin (v3), isolatedWallet;
- GET /fapi/v1/assetIndex: symbol (BTCUSD → BTC), index, bidBuffer, askBuffer, autoExchangeBidBuffer,
  autoExchangeAskBuffer;
- GET /fapi/v1/leverageBracket: symbol, brackets[] notionalFloor, notionalCap, maintMarginRatio, cum;
- GET /fapi/v1/multiAssetsMargin: {"multiAssetsMargin": true};
- GET /fapi/v1/exchangeInfo: assets[] asset, autoAssetExchange (the auto-exchange threshold in asset units,
  a string such as "-0.10", or null), symbols[] symbol, liquidationFee (a string such as "0.012500"), as
  Binance's API documentation shows them (USDⓈ-M Futures, Exchange Information).
Without a positionRisk payload, the account payload's own position rows are used: v2 rows carry notional,
positionAmt, entryPrice, leverage, isolated and isolatedWallet (mark = notional / positionAmt); v3 rows carry
fewer (no entryPrice: entry = mark - unrealizedProfit / positionAmt; no leverage: mamcli's default, named).
Every problem is collected and reported at once, each naming the file and the field.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from mamcli.model import InputError, Problems
from mamcli.numbers import ZERO, D, NumberError, fixed

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

CREDITS = "BNFCR"  # Binance Credits (EEA users): its presence means Credits mode (SPEC §10)
TOLERANCE = Decimal("0.00000001")  # one unit in the 8th decimal: Binance rounds its figures to 8 places
# Account figures returned for the agreement check (GET /fapi/v2/account; v3 has the same names).
TOTAL_FIELDS = ("totalMarginBalance", "totalMaintMargin", "totalInitialMargin", "availableBalance")
ASSET_FIELDS = ("walletBalance", "marginBalance", "maintMargin", "initialMargin", "availableBalance")


def plain(d: Decimal, places: int | None = 8) -> str:
    """A Decimal in plain notation, never with an exponent: 0.00000000, not 0E-8; -1234.5 stays -1234.5 when
    places is None, else it is rounded half-up to that many decimals (Binance's own rounding)."""
    if places is not None:
        return fixed(d, places, grouping=False)  # the one rounding of display: half-up, never -0
    text = format(d, "f")
    return "0" + text[2:] if text.startswith("-0") and d == 0 else text


def agrees(ours: Decimal, theirs: Decimal, tolerance: Decimal = TOLERANCE) -> bool:
    """Whether our figure and Binance's agree to within one unit in the 8th decimal (inclusive)."""
    return abs(ours - theirs) <= tolerance


class Payloads:
    """The decoded JSON bodies, each with the label used in messages."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[str, object]] = {}

    def add(self, kind: str, label: str, body: object) -> None:
        self.bodies[kind] = (label, body)

    def get(self, kind: str) -> tuple[str, object]:
        """(label, body) of a kind; ("", None) when it was not given."""
        return self.bodies.get(kind, ("", None))


def read_json(path: str) -> object:
    """A saved response through the JSON door: size cap, Decimal numbers, no NaN, bounded nesting."""
    from mamcli.jsonin import read_json_file

    return read_json_file(path, path)


def _tidy(d: Decimal) -> int | Decimal:
    """Integral values as TOML integers, others in plain notation (tomli-w would write 6e+4 or 0.0)."""
    if d == d.to_integral_value():
        return int(d)
    return Decimal(format(d.normalize(), "f"))


def _rows(c: Problems, label: str, body: object, endpoint: str, field: str | None = None) -> list[Any]:
    if field:
        rows = body.get(field) if isinstance(body, dict) else None
    else:
        rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list):
        where = f"an '{field}' list" if field else "a JSON array"
        c.add("", f"does not look like {endpoint} (expected {where})", label)
        return []
    return rows


def build(payloads: Payloads, prices: dict[str, Decimal] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(portfolio dict ready for tomli-w, report) or InputError.

    The report holds what the account payload says, for the agreement check: each of TOTAL_FIELDS present
    (Decimal), "assets" (asset -> {field of ASSET_FIELDS: Decimal}) and "notes" (lines for the file's header:
    what the payloads did not say and what was derived or assumed instead).
    """
    prices = dict(prices or {})
    c = Problems()
    notes: list[str] = []
    acc_label, account = payloads.get("account")
    if account is None:
        raise InputError(["import: --account is required (the saved body of GET /fapi/v2/account)"])

    # balances
    balances: dict[str, Decimal] = {}
    credits_seen = False
    for i, row in enumerate(_rows(c, acc_label, account, "GET /fapi/v2/account", "assets")):
        name = row.get("asset") if isinstance(row, dict) else None
        if not isinstance(name, str):
            c.add(f"assets[{i}].asset", "missing", acc_label)
            continue
        field = "crossWalletBalance" if "crossWalletBalance" in row else "walletBalance"
        value = c.number(acc_label, f"assets[{i}]", row, field)
        if value is not None:
            balances[name] = value
            if name == CREDITS and (value != 0 or _nonzero(row.get("marginBalance"))):
                credits_seen = True

    # mode
    mode = None
    mode_label, mode_body = payloads.get("mode")
    if mode_body is not None:
        if not isinstance(mode_body, dict) or not isinstance(mode_body.get("multiAssetsMargin"), bool):
            c.add("multiAssetsMargin", "missing (expected the body of GET /fapi/v1/multiAssetsMargin)", mode_label)
        else:
            mode = mode_body["multiAssetsMargin"]
    elif isinstance(account, dict) and isinstance(account.get("multiAssetsMargin"), bool):
        mode = account["multiAssetsMargin"]

    # isolated flags and leverage the account payload may carry per position
    acc_positions: dict[tuple[str, str], dict[str, Any]] = {}
    if isinstance(account, dict) and isinstance(account.get("positions"), list):
        for row in account["positions"]:
            if (
                isinstance(row, dict)
                and isinstance(row.get("symbol"), str)
                and isinstance(row.get("positionSide", "BOTH"), str)
            ):
                acc_positions[(row["symbol"], row.get("positionSide", "BOTH"))] = row

    if mode is None:
        notes.append(
            "account.mode: the account payload has no multiAssetsMargin (v3) and no --mode was given, so the "
            "mode is mamcli's default (multi-asset, named in assumptions); set it if the account is single-asset"
        )

    # positions: from positionRisk, else the account payload's own rows
    positions: list[dict[str, Any]] = []
    pos_label, pos_body = payloads.get("positions")
    rows_in = []
    if pos_body is not None:
        rows_in = _rows(c, pos_label, pos_body, "GET /fapi/v2/positionRisk")
    else:
        pos_label = acc_label
        rows_in = _account_position_rows(c, acc_label, acc_positions, notes)
    for i, row in enumerate(rows_in):
        key = f"[{i}]"
        if not isinstance(row, dict):
            c.add(key, "not an object", pos_label)
            continue
        amount = c.number(pos_label, key, row, "positionAmt")
        if amount is None or amount == 0:
            continue  # flat rows are skipped
        symbol = row.get("symbol")
        if not isinstance(symbol, str):
            c.add(f"{key}.symbol", "missing", pos_label)
            continue
        entry = c.number(pos_label, key, row, "entryPrice")
        mark = c.number(pos_label, key, row, "markPrice")
        side_field = row.get("positionSide", "BOTH")
        if not isinstance(side_field, str):
            c.add(f"{key}.positionSide", "expected BOTH, LONG or SHORT", pos_label)
            continue
        if side_field == "LONG":
            side = "long"
        elif side_field == "SHORT":
            side = "short"
        elif side_field == "BOTH":
            side = "long" if amount > 0 else "short"
        else:
            c.add(f"{key}.positionSide", f"expected BOTH, LONG or SHORT, got {side_field!r}", pos_label)
            continue
        out: dict[str, Any] = {
            "symbol": symbol,
            "side": side,
            "quantity": abs(amount),
            "entry_price": entry,
            "mark_price": mark,
        }
        if isinstance(row.get("marginAsset"), str):
            out["margin_asset"] = row["marginAsset"]
            if row["marginAsset"] == CREDITS:
                credits_seen = True
        acc_row = acc_positions.get((symbol, side_field), {})
        leverage = c.number(pos_label, key, row, "leverage", required=False)
        if leverage is None:
            leverage = c.number(acc_label, f"positions({symbol})", acc_row, "leverage", required=False)
        if leverage is None:
            im = c.number(pos_label, key, row, "positionInitialMargin", required=False)
            if im and mark:
                leverage = (abs(amount) * mark / im).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if leverage is not None and leverage > 0:
            out["leverage"] = leverage
        margin_type = row.get("marginType")
        isolated = (margin_type == "isolated") if isinstance(margin_type, str) else bool(acc_row.get("isolated"))
        if isolated:
            out["margin_type"] = "isolated"
            wallet = c.number(pos_label, key, row, "isolatedWallet", required=False)
            out["isolated_wallet"] = wallet if wallet is not None else ZERO
        if None in (entry, mark):
            continue
        positions.append(out)

    # prices and buffers
    index: dict[str, dict[str, Decimal]] = {}
    idx_label, idx_body = payloads.get("index")
    if idx_body is None:
        c.add("", "--index is required (the saved body of GET /fapi/v1/assetIndex) for prices and haircuts", "import")
    for i, row in enumerate(_rows(c, idx_label, idx_body, "GET /fapi/v1/assetIndex") if idx_body is not None else []):
        symbol = row.get("symbol") if isinstance(row, dict) else None
        if not isinstance(symbol, str) or not symbol.endswith("USD") or len(symbol) <= 3:
            continue
        asset = symbol[:-3]
        fields: dict[str, Decimal] = {}
        price = c.number(idx_label, f"[{i}]({symbol})", row, "index")
        if price is not None:  # a missing or bad price is a problem recorded, or no price at all (below)
            fields["price"] = price
        for ours, theirs in (
            ("haircut", "bidBuffer"),
            ("ask_buffer", "askBuffer"),
            ("autoexchange_haircut", "autoExchangeBidBuffer"),
            ("autoexchange_ask_buffer", "autoExchangeAskBuffer"),
        ):
            value = c.number(idx_label, f"[{i}]({symbol})", row, theirs, required=False)
            if value is not None:
                fields[ours] = value
        index[asset] = fields

    # brackets
    brackets: dict[str, list[dict[str, Decimal]]] = {}
    br_label, br_body = payloads.get("brackets")
    wanted = {p["symbol"] for p in positions}
    for i, row in enumerate(_rows(c, br_label, br_body, "GET /fapi/v1/leverageBracket") if br_body is not None else []):
        symbol = row.get("symbol") if isinstance(row, dict) else None
        if not isinstance(symbol, str) or symbol not in wanted:
            continue
        rows = row.get("brackets")
        if not isinstance(rows, list):
            c.add(f"[{i}]({symbol}).brackets", "missing (expected a list of brackets)", br_label)
            continue
        table: list[dict[str, Decimal]] = []
        for j, b in enumerate(rows):
            key = f"[{i}]({symbol}).brackets[{j}]"
            floor = c.number(br_label, key, b, "notionalFloor")
            cap = c.number(br_label, key, b, "notionalCap")
            mmr = c.number(br_label, key, b, "maintMarginRatio")
            cum = c.number(br_label, key, b, "cum")
            if floor is not None and cap is not None and mmr is not None and cum is not None:
                table.append({"floor": floor, "cap": cap, "mmr": mmr, "cum": cum})
        table.sort(key=lambda b: b["floor"])
        if table:
            brackets[symbol] = table

    for symbol in sorted(wanted - set(brackets)):
        c.add(
            symbol,
            "no leverage brackets for this position's symbol; give --brackets "
            "(the saved body of GET /fapi/v1/leverageBracket) covering it",
            br_label or "import",
        )

    # assets: held, or margin of a position
    names = [n for n, b in balances.items() if b != 0]
    known = set(balances) | set(index)  # the account's margin assets and the index's: no list kept in code
    for p in positions:
        core = p["symbol"].split("_")[0]
        quote = p.get("margin_asset") or next(
            (core[-n:] for n in range(len(core) - 1, 1, -1) if core[-n:] in known), None
        )
        if quote and quote not in names:
            names.append(quote)
    assets: dict[str, dict[str, Decimal]] = {}
    for name in names:
        fields = dict(index.get(name, {}))
        if name in prices:
            fields["price"] = prices.pop(name)
        if name == CREDITS and fields.get("price") is None:
            fields.pop("price", None)  # the loader values Credits at 1 USD and names it
            notes.append(f"{CREDITS}: no {CREDITS}USD row in the asset index; mamcli values Credits at 1 USD")
        elif fields.get("price") is None:
            c.add(
                name,
                f"no {name}USD row in the asset index, so no price for {name}; give --price {name}=VALUE",
                idx_label or "import",
            )
            continue
        assets[name] = {"balance": balances.get(name, ZERO), **fields}
    for name in prices:
        c.add(name, "not an asset of the imported account", "--price")
    info = _exchange_info(c, payloads, list(assets), [p["symbol"] for p in positions])
    c.check()

    doc: dict[str, Any] = {"account": {}}
    stamp = newest_stamp(payloads)
    if stamp is not None:
        from mamcli.stamps import iso

        moment, field, kind = stamp
        doc["account"]["as_of"] = moment
        notes.append(
            f"account.as_of {iso(moment)}: the newest {field} of the {kind.replace('_', ' ')} response"
            " (the age of this file)"
        )
    if mode is not None:
        doc["account"]["mode"] = "multi-asset" if mode else "single-asset"
    if credits_seen or CREDITS in assets:
        doc["account"]["credits"] = True
    doc["assets"] = {n: {k: _tidy(v) for k, v in f.items()} for n, f in assets.items()}
    if positions:
        doc["positions"] = [{k: _tidy(v) if isinstance(v, Decimal) else v for k, v in p.items()} for p in positions]
    if brackets:
        doc["brackets"] = {s: [{k: _tidy(v) for k, v in b.items()} for b in t] for s, t in brackets.items()}
    if info:
        doc["exchange_info"] = info
    return doc, _report(c, acc_label, account, notes)


def newest_stamp(payloads: Payloads) -> tuple[datetime, str, str] | None:
    """The newest `updateTime`, `time` or `serverTime` in the payloads: (time, field, kind): the time of the
    data an imported file describes (SPEC §9)."""
    from mamcli.stamps import newest

    return newest(((kind, body) for kind, (_label, body) in payloads.bodies.items()), STAMP_FIELDS)


STAMP_FIELDS = ("updateTime", "time", "serverTime")


def _report(c: Problems, label: str, account: object, notes: list[str]) -> dict[str, Any]:
    """What the account payload reports, for the agreement check (a malformed figure is left out)."""
    report: dict[str, Any] = {"assets": {}, "notes": notes}
    if not isinstance(account, dict):
        return report
    for field in TOTAL_FIELDS:
        value = c.number(label, "", account, field, required=False)
        if value is not None:
            report[field] = value
    rows = account.get("assets")
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        if not isinstance(row, dict) or not isinstance(row.get("asset"), str):
            continue
        figures = {}
        for field in ASSET_FIELDS:
            value = c.number(label, f"assets[{i}]", row, field, required=False)
            if value is not None:
                figures[field] = value
        report["assets"][row["asset"]] = figures
    return report


def _account_position_rows(
    c: Problems, label: str, acc_positions: dict[tuple[str, str], dict[str, Any]], notes: list[str]
) -> list[dict[str, Any]]:
    """positionRisk-like rows made from the account payload's own position rows (open ones only).

    v2 rows: mark = notional / positionAmt. v3 rows have no entryPrice: entry = mark - unrealizedProfit /
    positionAmt (from uPnL = amount x (mark - entry)); no leverage: left to mamcli's default (named).
    """
    out = []
    derived_entry = []
    for (symbol, side), row in acc_positions.items():
        if not _nonzero(row.get("positionAmt")):
            continue
        key = f"positions({symbol})"
        amount = c.number(label, key, row, "positionAmt")
        notional = c.number(label, key, row, "notional")
        if amount is None or notional is None:
            continue
        mark = abs(notional) / abs(amount)
        made: dict[str, Any] = {"symbol": symbol, "positionSide": side, "positionAmt": amount, "markPrice": mark}
        entry = c.number(label, key, row, "entryPrice", required=False)
        if entry is None:
            upnl = c.number(label, key, row, "unrealizedProfit")
            if upnl is None:
                continue
            entry = mark - upnl / amount
            derived_entry.append(symbol)
        made["entryPrice"] = entry
        for field in ("leverage", "isolatedWallet", "marginAsset"):
            if field in row:
                made[field] = row[field]
        isolated = row.get("isolated")
        if isinstance(isolated, bool):
            made["marginType"] = "isolated" if isolated else "cross"
        elif _nonzero(row.get("isolatedWallet")):
            made["marginType"] = "isolated"
        out.append(made)
    if out:
        notes.append("positions: from the account payload's own rows (no --positions): mark = notional / positionAmt")
    if derived_entry:
        notes.append(
            f"entry prices of {', '.join(derived_entry)}: not in the account rows (v3); "
            "derived as mark - unrealizedProfit / positionAmt"
        )
    return out


def _exchange_info(c: Problems, payloads: Payloads, assets: list[str], symbols: list[str]) -> dict[str, Any]:
    """[exchange_info] of the portfolio from a saved GET /fapi/v1/exchangeInfo: the thresholds of the
    portfolio's assets and the liquidation fees of its positions' symbols."""
    label, body = payloads.get("exchange_info")
    if body is None:
        return {}
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("assets"), list)
        or not isinstance(body.get("symbols"), list)
    ):
        c.add("", "does not look like GET /fapi/v1/exchangeInfo (expected 'assets' and 'symbols' lists)", label)
        return {}
    wanted_assets, wanted_symbols = set(assets), set(symbols)
    thresholds = {}
    for i, row in enumerate(body["assets"]):
        name = row.get("asset") if isinstance(row, dict) else None
        if name not in wanted_assets or row.get("autoAssetExchange") is None:
            continue  # null: Binance sets no threshold for that asset
        value = c.number(label, f"assets[{i}]({name})", row, "autoAssetExchange")
        if value is not None and value > 0:
            c.add(f"assets[{i}]({name}).autoAssetExchange", f"expected 0 or a negative threshold, got {value}", label)
        elif value is not None:
            thresholds[name] = _tidy(value)
    fees = {}
    for i, row in enumerate(body["symbols"]):
        symbol = row.get("symbol") if isinstance(row, dict) else None
        if symbol not in wanted_symbols or "liquidationFee" not in row:
            continue
        value = c.number(label, f"symbols[{i}]({symbol})", row, "liquidationFee")
        if value is not None and not ZERO <= value < 1:
            c.add(f"symbols[{i}]({symbol}).liquidationFee", f"expected a fraction below 1, got {value}", label)
        elif value is not None:
            fees[symbol] = _tidy(value)
    info: dict[str, Any] = {"source": f"GET /fapi/v1/exchangeInfo ({label})"}
    if thresholds:
        info["thresholds"] = thresholds
    if fees:
        info["liquidation_fee"] = fees
    return info if len(info) > 1 else {}


def _nonzero(text: object) -> bool:
    try:
        return D(text) != 0
    except (NumberError, TypeError):
        return False


HEADER = """\
# Imported by `mamcli import` from saved Binance API responses.
# Not in the payloads, so left to mamcli's defaults (named in every command's assumptions):
# account.tier, account.open_orders (check your open orders!) and account.rules.
"""


def to_toml(doc: Mapping[str, Any], notes: list[str] | tuple[str, ...] = ()) -> str:
    import tomli_w

    extra = "".join(f"# {line}\n" for line in notes)
    return HEADER + extra + "\n" + tomli_w.dumps(doc)
