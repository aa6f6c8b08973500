"""Saved Binance API responses in, a portfolio file out (SPEC §8).

Endpoints (field names as Binance documents them; every number arrives as a string):
- GET /fapi/v2/account (or v3): assets[] asset, crossWalletBalance; multiAssetsMargin; totalMarginBalance,
  totalMaintMargin (used to check the result); positions[] (isolated, leverage when v2);
- GET /fapi/v2/positionRisk or v3: symbol, positionAmt (signed), entryPrice, markPrice, positionSide
  BOTH/LONG/SHORT, leverage and marginType (v2), marginAsset and positionInitialMargin (v3), isolatedWallet;
- GET /fapi/v1/assetIndex: symbol (BTCUSD → BTC), index, bidBuffer, askBuffer, autoExchangeBidBuffer,
  autoExchangeAskBuffer;
- GET /fapi/v1/leverageBracket: symbol, brackets[] notionalFloor, notionalCap, maintMarginRatio, cum;
- GET /fapi/v1/multiAssetsMargin: {"multiAssetsMargin": true}.
Every problem is collected and reported at once, each naming the file and the field.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from mamcli.model import InputError
from mamcli.numbers import ZERO, D, NumberError


class Payloads:
    """The decoded JSON bodies, each with the label used in messages."""

    def __init__(self):
        self.bodies: dict[str, tuple[str, object]] = {}

    def add(self, kind: str, label: str, body) -> None:
        self.bodies[kind] = (label, body)

    def get(self, kind: str):
        return self.bodies.get(kind, (None, None))


def read_json(path: str) -> object:
    """A saved response through the JSON door: size cap, Decimal numbers, no NaN, bounded nesting."""
    from mamcli.jsonin import read_json_file

    return read_json_file(path, path)


class _Collector:
    def __init__(self):
        self.problems: list[str] = []

    def add(self, label: str, key: str, message: str) -> None:
        self.problems.append(f"{label}: {key}: {message}" if key else f"{label}: {message}")

    def number(self, label: str, key: str, row: dict, field: str, required: bool = True):
        if not isinstance(row, dict) or field not in row or row[field] in (None, ""):
            if required:
                self.add(label, f"{key}.{field}" if key else field, "missing")
            return None
        try:
            return D(row[field])
        except NumberError as e:
            self.add(label, f"{key}.{field}" if key else field, str(e))
            return None


def _tidy(d: Decimal):
    """Integral values as TOML integers, others in plain notation (tomli-w would write 6e+4 or 0.0)."""
    if d == d.to_integral_value():
        return int(d)
    return Decimal(format(d.normalize(), "f"))


def _rows(c: _Collector, label: str, body, endpoint: str, field: str | None = None) -> list:
    if field:
        rows = body.get(field) if isinstance(body, dict) else None
    else:
        rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list):
        where = f"an '{field}' list" if field else "a JSON array"
        c.add(label, "", f"does not look like {endpoint} (expected {where})")
        return []
    return rows


def build(payloads: Payloads, prices: dict[str, Decimal] | None = None) -> tuple[dict, dict]:
    """(portfolio dict ready for tomli-w, totals the account payload reports) or InputError."""
    prices = dict(prices or {})
    c = _Collector()
    acc_label, account = payloads.get("account")
    if account is None:
        raise InputError(["import: --account is required (the saved body of GET /fapi/v2/account)"])

    # balances
    balances: dict[str, Decimal] = {}
    for i, row in enumerate(_rows(c, acc_label, account, "GET /fapi/v2/account", "assets")):
        name = row.get("asset") if isinstance(row, dict) else None
        if not isinstance(name, str):
            c.add(acc_label, f"assets[{i}].asset", "missing")
            continue
        field = "crossWalletBalance" if "crossWalletBalance" in row else "walletBalance"
        value = c.number(acc_label, f"assets[{i}]", row, field)
        if value is not None:
            balances[name] = value

    # mode
    mode = None
    mode_label, mode_body = payloads.get("mode")
    if mode_body is not None:
        if not isinstance(mode_body, dict) or not isinstance(mode_body.get("multiAssetsMargin"), bool):
            c.add(mode_label, "multiAssetsMargin", "missing (expected the body of GET /fapi/v1/multiAssetsMargin)")
        else:
            mode = mode_body["multiAssetsMargin"]
    elif isinstance(account, dict) and isinstance(account.get("multiAssetsMargin"), bool):
        mode = account["multiAssetsMargin"]

    # isolated flags and leverage the account payload may carry per position
    acc_positions = {}
    if isinstance(account, dict) and isinstance(account.get("positions"), list):
        for row in account["positions"]:
            if (
                isinstance(row, dict)
                and isinstance(row.get("symbol"), str)
                and isinstance(row.get("positionSide", "BOTH"), str)
            ):
                acc_positions[(row["symbol"], row.get("positionSide", "BOTH"))] = row

    # positions
    positions = []
    pos_label, pos_body = payloads.get("positions")
    if pos_body is None:
        open_rows = [r for r in acc_positions.values() if _nonzero(r.get("positionAmt"))]
        if open_rows:
            c.add(
                acc_label,
                "positions",
                "the account has open positions; give --positions (the saved body "
                "of GET /fapi/v2/positionRisk) for their marks",
            )
    for i, row in enumerate(_rows(c, pos_label, pos_body, "GET /fapi/v2/positionRisk") if pos_body is not None else []):
        key = f"[{i}]"
        if not isinstance(row, dict):
            c.add(pos_label, key, "not an object")
            continue
        amount = c.number(pos_label, key, row, "positionAmt")
        if amount is None or amount == 0:
            continue  # flat rows are skipped
        symbol = row.get("symbol")
        if not isinstance(symbol, str):
            c.add(pos_label, f"{key}.symbol", "missing")
            continue
        entry = c.number(pos_label, key, row, "entryPrice")
        mark = c.number(pos_label, key, row, "markPrice")
        side_field = row.get("positionSide", "BOTH")
        if not isinstance(side_field, str):
            c.add(pos_label, f"{key}.positionSide", "expected BOTH, LONG or SHORT")
            continue
        if side_field == "LONG":
            side = "long"
        elif side_field == "SHORT":
            side = "short"
        elif side_field == "BOTH":
            side = "long" if amount > 0 else "short"
        else:
            c.add(pos_label, f"{key}.positionSide", f"expected BOTH, LONG or SHORT, got {side_field!r}")
            continue
        out = {"symbol": symbol, "side": side, "quantity": abs(amount), "entry_price": entry, "mark_price": mark}
        if isinstance(row.get("marginAsset"), str):
            out["margin_asset"] = row["marginAsset"]
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
    index: dict[str, dict] = {}
    idx_label, idx_body = payloads.get("index")
    if idx_body is None:
        c.add("import", "", "--index is required (the saved body of GET /fapi/v1/assetIndex) for prices and haircuts")
    for i, row in enumerate(_rows(c, idx_label, idx_body, "GET /fapi/v1/assetIndex") if idx_body is not None else []):
        symbol = row.get("symbol") if isinstance(row, dict) else None
        if not isinstance(symbol, str) or not symbol.endswith("USD") or len(symbol) <= 3:
            continue
        asset = symbol[:-3]
        fields = {"price": c.number(idx_label, f"[{i}]({symbol})", row, "index")}
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
    brackets = {}
    br_label, br_body = payloads.get("brackets")
    wanted = {p["symbol"] for p in positions}
    for i, row in enumerate(_rows(c, br_label, br_body, "GET /fapi/v1/leverageBracket") if br_body is not None else []):
        symbol = row.get("symbol") if isinstance(row, dict) else None
        if not isinstance(symbol, str) or symbol not in wanted:
            continue
        rows = row.get("brackets")
        if not isinstance(rows, list):
            c.add(br_label, f"[{i}]({symbol}).brackets", "missing (expected a list of brackets)")
            continue
        table = []
        for j, b in enumerate(rows):
            key = f"[{i}]({symbol}).brackets[{j}]"
            floor = c.number(br_label, key, b, "notionalFloor")
            cap = c.number(br_label, key, b, "notionalCap")
            mmr = c.number(br_label, key, b, "maintMarginRatio")
            cum = c.number(br_label, key, b, "cum")
            if None not in (floor, cap, mmr, cum):
                table.append({"floor": floor, "cap": cap, "mmr": mmr, "cum": cum})
        table.sort(key=lambda b: b["floor"])
        if table:
            brackets[symbol] = table

    for symbol in sorted(wanted - set(brackets)):
        c.add(
            br_label or "import",
            symbol,
            "no leverage brackets for this position's symbol; give --brackets "
            "(the saved body of GET /fapi/v1/leverageBracket) covering it",
        )

    # assets: held, or margin of a position
    names = [n for n, b in balances.items() if b != 0]
    for p in positions:
        quote = p.get("margin_asset") or next(
            (a for a in ("USDT", "USDC", "FDUSD", "BTC") if p["symbol"].split("_")[0].endswith(a)), None
        )
        if quote and quote not in names:
            names.append(quote)
    assets = {}
    for name in names:
        fields = dict(index.get(name, {}))
        if name in prices:
            fields["price"] = prices.pop(name)
        if fields.get("price") is None:
            c.add(
                idx_label or "import",
                name,
                f"no {name}USD row in the asset index, so no price for {name}; give --price {name}=VALUE",
            )
            continue
        assets[name] = {"balance": balances.get(name, ZERO), **fields}
    for name in prices:
        c.add("--price", name, "not an asset of the imported account")
    if c.problems:
        raise InputError(c.problems)

    doc: dict = {"account": {}}
    if mode is not None:
        doc["account"]["mode"] = "multi-asset" if mode else "single-asset"
    doc["assets"] = {n: {k: _tidy(v) for k, v in f.items()} for n, f in assets.items()}
    if positions:
        doc["positions"] = [{k: _tidy(v) if isinstance(v, Decimal) else v for k, v in p.items()} for p in positions]
    if brackets:
        doc["brackets"] = {s: [{k: _tidy(v) for k, v in b.items()} for b in t] for s, t in brackets.items()}
    totals = {}
    if isinstance(account, dict):
        for field in ("totalMarginBalance", "totalMaintMargin"):
            value = c.number(acc_label, "", account, field, required=False)
            if value is not None:
                totals[field] = value
    return doc, totals


def _nonzero(text) -> bool:
    try:
        return D(text) != 0
    except (NumberError, TypeError):
        return False


HEADER = """\
# Imported by `mamcli import` from saved Binance API responses.
# Not in the payloads, so left to mamcli's defaults (named in every command's assumptions):
# account.tier, account.open_orders (check your open orders!) and account.rules.
"""


def to_toml(doc: dict) -> str:
    import tomli_w

    return HEADER + "\n" + tomli_w.dumps(doc)
