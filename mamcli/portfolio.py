"""TOML in, model out: the portfolio file (SPEC §3) and rules profiles (SPEC §2).

Every problem of a file is collected before anything is raised, so a user fixes a file in one pass.  Each
problem is one line: ``FILE: KEY: what is wrong``.  Numbers pass through `numbers.D()` only.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mamcli.inputs import read_input
from mamcli.model import MODES, MULTI, Asset, Bracket, InputError, Portfolio, Position, Problems, Rules, Tier
from mamcli.numbers import ONE, ZERO, D, NumberError, figure, plain
from mamcli.text import escape

if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from typing import TypeAlias

    Check: TypeAlias = Callable[[Decimal], str | None]  # a number's test: its problem, or None when fine

RULES_DIR = os.path.join(os.path.dirname(__file__), "rules")
SHIPPED_RULES = ("binance", "seed")
RULE_ALIASES = {"binance-2025": "binance"}  # former names still accepted
DEFAULT_RULES = "binance"
DEFAULT_LEVERAGE = Decimal(20)
MAX_FILE_BYTES = 256 * 1024 * 1024

TOP_KEYS = ("account", "assets", "positions", "brackets", "exchange_info")
ACCOUNT_KEYS = ("mode", "tier", "open_orders", "rules", "credits", "as_of")
EXCHANGE_INFO_KEYS = ("thresholds", "liquidation_fee", "source")
ASSET_KEYS = ("balance", "price", "haircut", "ask_buffer", "autoexchange_haircut", "autoexchange_ask_buffer")
BUFFER_KEYS = ASSET_KEYS[2:]
POSITION_KEYS = (
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "mark_price",
    "margin_asset",
    "leverage",
    "margin_type",
    "isolated_wallet",
    "contract",
    "maint_margin_rate",
    "maint_amount",
)
BRACKET_KEYS = ("floor", "cap", "mmr", "cum")
RULES_KEYS = (
    "name",
    "description",
    "ltv_trigger",
    "contracts",
    "bands",
    "tiers",
    "assets",
    "liquidation_fee",
    "brackets",
)
RULES_ASSET_KEYS = (*BUFFER_KEYS, "stable", "stand_in")
BRACKETS_META = ("as_of", "source", "file")  # the other keys of a profile's [brackets] are symbols
CREDITS = "BNFCR"  # Binance's Credits asset (EEA users, SPEC §10)
CONTRACTS = ("perpetual", "delivery")
_WORDS = {
    "haircut": "haircut",
    "ask_buffer": "ask buffer",
    "autoexchange_haircut": "auto-exchange haircut",
    "autoexchange_ask_buffer": "auto-exchange ask buffer",
}
# Asset and symbol names, checked with a set rather than a regular expression: compiling the two patterns
# cost every run ~65 µs.
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def is_asset_name(text: str) -> bool:
    """[A-Z0-9]{1,20}: BTC, USDT, 1000SATS."""
    return 0 < len(text) <= 20 and _NAME_CHARS.issuperset(text)


def is_symbol_name(text: str) -> bool:
    """[A-Z0-9]{2,40}, then optionally _ and [A-Z0-9]{1,12} (a delivery contract: BTCUSDT_250627)."""
    base, sep, suffix = text.partition("_")
    if not (2 <= len(base) <= 40 and _NAME_CHARS.issuperset(base)):
        return False
    return not sep or (0 < len(suffix) <= 12 and _NAME_CHARS.issuperset(suffix))


# ---------------------------------------------------------------------------------------------- reading


def read_toml(path: str, label: str) -> dict[str, Any]:
    """Parse a TOML file (or stdin for '-') with every decimal as Decimal; raise InputError otherwise."""
    return parse_toml(read_input(path, label, MAX_FILE_BYTES, "a TOML file"), label)


def parse_toml(data: bytes, label: str) -> dict[str, Any]:
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode(
            "utf-8"
        )  # a BOM dropped; not "utf-8-sig": a codec import a run
    except UnicodeDecodeError as e:
        raise InputError([f"{label}: is not UTF-8 text (bad byte at offset {e.start}); is it a TOML file?"]) from None
    if not text.strip():
        raise InputError([f"{label}: is empty; see `mamcli --help` or README.md for the portfolio format"])
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise InputError([f"{label}: not valid TOML: {e}"]) from None
    except RecursionError:
        raise InputError([f"{label}: not valid TOML: nesting is too deep"]) from None


# ---------------------------------------------------------------------------------------------- helpers


def _closest(word: str, known: Collection[str]) -> str | None:
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _suggest(word: str, known: Collection[str]) -> str:
    close = _closest(word, known)
    return f" (did you mean {close!r}?)" if close else f" (known: {', '.join(known)})"


def _unknown_keys(p: Problems, prefix: str, table: Mapping[str, object], known: Collection[str]) -> None:
    for k in table:
        if k not in known:
            p.add(f"{prefix}{_safe(k)}", "unknown key" + _suggest(str(k), known))


def _safe(text: object) -> str:
    """A key as it can be shown on one line: control characters escaped (the one rule, mamcli.text)."""
    return escape(text)


def _table(p: Problems, key: str, value: object, default: dict[str, Any] | None = None) -> dict[str, Any]:
    if value is None:
        return {} if default is None else default
    if not isinstance(value, dict):
        p.add(key, "must be a table")
        return {}
    return value


def _number(
    p: Problems, key: str, table: Mapping[str, object], name: str, *, required: bool = False, check: Check | None = None
) -> Decimal | None:
    """The Decimal at table[name], or None when absent or wrong (the problem is recorded)."""
    if name not in table:
        if required:
            p.add(f"{key}.{name}" if key else name, "is required")
        return None
    where = f"{key}.{name}" if key else name
    try:
        d = D(table[name])
    except NumberError as e:
        p.add(where, str(e))
        return None
    if check is not None:
        problem = check(d)
        if problem:
            p.add(where, _with_fix(name, d, problem, check, table[name]))
            return None
    return d


def _with_fix(name: str, d: Decimal, problem: str, check: Check, given: object) -> str:
    """The problem of a number, with the fix where the usual mistake is known (SPEC §12)."""
    text = f"{problem} (got {given})"
    if check is fraction and ONE <= d < 100:
        whole = plain(d, 18, grouping=False)
        return f"{text}; {name} {whole}: a fraction is expected, {whole} % is {plain(d / 100, 20, grouping=False)}"
    if name == "quantity" and d < 0:
        text += '; use side = "short" and a positive quantity'
    return text


def _text(
    p: Problems,
    key: str,
    table: Mapping[str, object],
    name: str,
    choices: Collection[str] | None = None,
    *,
    required: bool = False,
) -> str | None:
    if name not in table:
        if required:
            p.add(f"{key}.{name}" if key else name, "is required")
        return None
    value = table[name]
    where = f"{key}.{name}" if key else name
    if not isinstance(value, str):
        p.add(where, "must be text in quotes")
        return None
    if choices is not None and value not in choices:
        close = value.lower() if value.lower() in choices else _closest(value.lower(), choices)
        p.add(
            where,
            f"must be one of {', '.join(choices)}, got {_safe(value)!r}"
            + (f" (did you mean {close!r}?)" if close else ""),
        )
        return None
    return value


def positive(d: Decimal) -> str | None:
    return None if d > 0 else "must be greater than 0"


def non_negative(d: Decimal) -> str | None:
    return None if d >= 0 else "must not be negative"


def fraction(d: Decimal) -> str | None:
    return None if ZERO <= d < ONE else "must be at least 0 and below 1"


def non_positive(d: Decimal) -> str | None:
    return None if d <= 0 else "must be 0 or negative (a threshold is a negative balance)"


# ---------------------------------------------------------------------------------------------- rules


def resolve_rules(name_or_path: str, base_dir: str | None, where: str) -> tuple[str, str]:
    """(path, label) of a rules profile given by shipped name (or a former name) or by path."""
    name_or_path = RULE_ALIASES.get(name_or_path, name_or_path)
    if name_or_path in SHIPPED_RULES:
        return os.path.join(RULES_DIR, f"{name_or_path}.toml"), f"rules profile {name_or_path}"
    looks_like_path = name_or_path.endswith(".toml") or os.sep in name_or_path or "/" in name_or_path
    if not looks_like_path:
        raise InputError(
            [
                f"{where}: unknown rules profile {name_or_path!r}"
                f"{_suggest(name_or_path, SHIPPED_RULES)}; or give the path of a .toml file"
            ]
        )
    path = name_or_path
    if base_dir and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return path, path


def load_rules(path: str, label: str) -> Rules:
    doc = read_toml(path, label)
    p = Problems(label)
    _unknown_keys(p, "", doc, RULES_KEYS)
    name = _text(p, "", doc, "name", required=True)
    description = doc.get("description", "")
    if not isinstance(description, str):
        p.add("description", "must be text in quotes")
        description = ""
    ltv_trigger = _number(p, "", doc, "ltv_trigger", required=True, check=positive)
    contracts = doc.get("contracts", ["perpetual"])
    if not isinstance(contracts, list) or not all(c in CONTRACTS for c in contracts):
        p.add("contracts", f"must be a list drawn from {', '.join(CONTRACTS)}")
        contracts = []
    bands = _table(p, "bands", doc.get("bands"))
    _unknown_keys(p, "bands.", bands, ("yellow", "red"))
    yellow = _number(p, "bands", bands, "yellow", required=True, check=fraction)
    red = _number(p, "bands", bands, "red", required=True, check=fraction)
    if yellow is not None and red is not None and not yellow < red:
        p.add("bands", "yellow must be below red")
    tiers: list[Tier] = []
    raw_tiers = doc.get("tiers")
    if not isinstance(raw_tiers, list) or not raw_tiers:
        p.add("tiers", "must be an array of at least one [[tiers]] table")
        raw_tiers = []
    for i, t in enumerate(raw_tiers, 1):
        key = f"tiers[{i}]"
        if not isinstance(t, dict):
            p.add(key, "must be a table")
            continue
        _unknown_keys(p, f"{key}.", t, ("name", "names", "threshold_usd", "thresholds"))
        tnames = _tier_names(p, key, t)
        usd = _number(p, key, t, "threshold_usd", check=non_positive)
        units = {}
        for asset in _table(p, f"{key}.thresholds", t.get("thresholds")):
            if not is_asset_name(str(asset)):
                p.add(f"{key}.thresholds.{_safe(asset)}", "an asset name is upper-case letters and digits, such as BTC")
                continue
            d = _number(p, f"{key}.thresholds", t["thresholds"], asset, check=non_positive)
            if d is not None:
                units[asset] = d
        tiers.extend(Tier(tname, usd, dict(units)) for tname in tnames)
    names = [t.name for t in tiers]
    for n in sorted({n for n in names if names.count(n) > 1}):
        p.add("tiers", f"tier {_safe(n)!r} is listed more than once")
    assets = {}
    stable = set()
    stand_ins = set()
    for asset, fields in _table(p, "assets", doc.get("assets")).items():
        key = f"assets.{_safe(asset)}"
        fields = _table(p, key, fields)
        _unknown_keys(p, f"{key}.", fields, RULES_ASSET_KEYS)
        assets[asset] = {k: v for k in BUFFER_KEYS if (v := _number(p, key, fields, k, check=fraction)) is not None}
        if _flag(p, key, fields, "stable"):
            stable.add(asset)
        if _flag(p, key, fields, "stand_in"):
            stand_ins.add(asset)
    fees, default_fee = _load_fees(p, "liquidation_fee", doc.get("liquidation_fee"), "default")
    brackets, as_of, source = _load_rules_brackets(p, doc, os.path.dirname(path))
    p.check()
    # Each is None only where a problem was recorded, and p.check() has raised them.
    assert name is not None and ltv_trigger is not None and yellow is not None and red is not None
    return Rules(
        name=name,
        description=description,
        tiers=tuple(tiers),
        ltv_trigger=ltv_trigger,
        yellow=yellow,
        red=red,
        contracts=frozenset(contracts),
        assets=assets,
        stable=frozenset(stable),
        stand_ins=frozenset(stand_ins),
        liquidation_fees=fees,
        default_liquidation_fee=default_fee,
        brackets=brackets,
        brackets_as_of=as_of,
        brackets_source=source,
    )


def _tier_names(p: Problems, key: str, table: Mapping[str, object]) -> list[str]:
    """A [[tiers]] table's tier: `name = "vip1"`; or several tiers that share its thresholds, in order:
    `names = ["vip2", "vip3"]` (one table, parsed and checked once, for each)."""
    if "names" not in table:
        name = _text(p, key, table, "name", required=True)
        return [name] if name else []
    if "name" in table:
        p.add(f"{key}.names", "give name or names, not both")
        return []
    names = table["names"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        p.add(f"{key}.names", 'must be a list of tier names in quotes, such as ["vip2", "vip3"]')
        return []
    return names


def _flag(p: Problems, key: str, table: Mapping[str, object], name: str) -> bool:
    """A true/false key (absent: false)."""
    value = table.get(name, False)
    if not isinstance(value, bool):
        p.add(f"{key}.{name}", f"must be true or false (got {_safe(str(value))})")
        return False
    return value


def _load_fees(
    p: Problems, key: str, raw: object, default_key: str | None
) -> tuple[dict[str, Decimal], Decimal | None]:
    """Per-symbol liquidation fee rates (exchangeInfo liquidationFee) and the optional default."""
    fees: dict[str, Decimal] = {}
    default = None
    table = _table(p, key, raw)
    for symbol in table:
        if symbol == default_key:
            default = _number(p, key, table, symbol, check=fraction)
            continue
        if not is_symbol_name(str(symbol)):
            p.add(
                f"{key}.{_safe(symbol)}",
                "not a futures symbol such as BTCUSDT" + (f" (or {default_key!r})" if default_key else ""),
            )
            continue
        d = _number(p, key, table, symbol, check=fraction)
        if d is not None:
            fees[symbol] = d
    return fees, default


class Snapshot(Mapping[str, tuple[Bracket, ...]]):
    """A profile's bracket snapshot kept in a file of its own, read and checked only when first looked up:
    most runs never need it, and parsing 12 tables on every cron call would cost milliseconds."""

    def __init__(self, path: str, label: str):
        self.path, self.label = path, label
        self._tables: dict[str, tuple[Bracket, ...]] | None = None

    def _load(self) -> dict[str, tuple[Bracket, ...]]:
        if self._tables is None:
            doc = read_toml(self.path, self.label)
            p = Problems(self.label)
            _unknown_keys(p, "", doc, ("brackets",))
            self._tables = _snapshot_tables(p, _table(p, "brackets", doc.get("brackets")))
            p.check()
        return self._tables

    def __getitem__(self, symbol: str) -> tuple[Bracket, ...]:
        return self._load()[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _load_rules_brackets(
    p: Problems, doc: dict[str, Any], folder: str
) -> tuple[Mapping[str, tuple[Bracket, ...]], str | None, str]:
    """A profile's [brackets] snapshot: as_of (a date), source (text), and the tables: one per symbol, inline or
    in `file` (a path beside the profile, read when first needed)."""
    raw = _table(p, "brackets", doc.get("brackets"))
    if not raw:
        return {}, None, ""
    as_of = raw.get("as_of")
    if as_of is None:
        p.add("brackets.as_of", "is required: the date of the snapshot, such as 2024-10-24")
    elif isinstance(as_of, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
        pass
    elif hasattr(as_of, "isoformat") and not hasattr(as_of, "hour"):
        as_of = as_of.isoformat()
    else:
        p.add("brackets.as_of", f"must be a date such as 2024-10-24 (got {_safe(str(as_of))})")
        as_of = None
    source = raw.get("source", "")
    if not isinstance(source, str):
        p.add("brackets.source", "must be text in quotes")
        source = ""
    inline = {k: v for k, v in raw.items() if k not in BRACKETS_META}
    if "file" in raw:
        name = raw["file"]
        if not isinstance(name, str) or inline:
            p.add("brackets.file", "must be a file name in quotes, with no tables beside it")
            return {}, as_of, source
        path = os.path.join(folder, name)
        return Snapshot(path, f"{path} (bracket snapshot)"), as_of, source
    return _snapshot_tables(p, inline), as_of, source


def _snapshot_tables(p: Problems, inline: dict[str, Any]) -> dict[str, tuple[Bracket, ...]]:
    tables = _load_brackets(p, {"brackets": inline})
    for symbol in list(tables):
        if not is_symbol_name(str(symbol)):
            p.add(f"brackets.{_safe(symbol)}", "not a futures symbol such as BTCUSDT (or as_of, source)")
            del tables[symbol]
    return tables


# ---------------------------------------------------------------------------------------------- portfolio


def load_portfolio(path: str, rules: str | None = None, tier: str | None = None) -> Portfolio:
    """Read and validate a portfolio file; `rules` and `tier` (from --rules, --tier) win over [account]."""
    return load_account(path, rules, tier)[0]


def load_account(path: str, rules: str | None = None, tier: str | None = None) -> tuple[Portfolio, datetime | None]:
    """A portfolio file and the time of its data (`[account] as_of`, in UTC; None when the file has none)."""
    label = "<stdin>" if path == "-" else path
    folder = None if path == "-" else os.path.dirname(path)
    doc = read_toml(path, label)
    pf = build_portfolio(doc, label, folder, rules, tier)
    account = doc.get("account")
    return pf, as_of_of(Problems(label), account) if isinstance(account, dict) else None


def as_of_of(p: Problems, account: dict[str, object]) -> datetime | None:
    """`[account] as_of`: a TOML offset date-time (`2024-05-01T12:00:00Z`), returned in UTC.  A local
    date-time, a date or anything else is a problem: the age of the data must not be guessed."""
    if "as_of" not in account:
        return None
    value = account["as_of"]
    example = "an offset date-time such as 2024-05-01T12:00:00Z (no quotes)"
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            p.add("account.as_of", f"has no UTC offset; write {example}")
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            p.add("account.as_of", f"is out of range in UTC ({value.isoformat()})")
            return None
    if isinstance(value, date):
        p.add("account.as_of", f"is a date without a time; write {example}")
    elif isinstance(value, str):
        p.add("account.as_of", f"is text in quotes, not a date-time; write {example}")
    else:
        p.add("account.as_of", f"must be {example}, got {_safe(value)!r}")
    return None


def load_text(text: str, label: str, rules: str | None = None, tier: str | None = None) -> Portfolio:
    """Validate a portfolio given as TOML text (what `mamcli import` is about to write)."""
    return build_portfolio(parse_toml(text.encode("utf-8"), label), label, None, rules, tier)


def build_portfolio(
    doc: dict[str, Any], label: str, folder: str | None, rules: str | None, tier_arg: str | None = None
) -> Portfolio:
    p = Problems(label)
    assumptions: list[str] = []
    _unknown_keys(p, "", doc, TOP_KEYS)

    account = _table(p, "account", doc.get("account"))
    _unknown_keys(p, "account.", account, ACCOUNT_KEYS)

    # Rules first: the tier and the haircuts depend on them.  A rules problem stops here, reported alone.
    rules_arg = rules
    base_dir = None
    where = "--rules"
    if rules_arg is None:
        rules_arg = _text(p, "account", account, "rules")
        base_dir = folder
        where = f"{label}: account.rules"
    if not rules_arg:
        rules_arg = DEFAULT_RULES
        assumptions.append(f"rules not given: {DEFAULT_RULES} (the default profile)")
    rules_path, rules_label = resolve_rules(rules_arg, base_dir, where)
    profile = load_rules(rules_path, rules_label)

    mode = _text(p, "account", account, "mode", MODES)
    if "mode" not in account:
        assumptions.append("mode not given: multi-asset (SPEC default)")
    mode = mode or MULTI

    tier = _pick_tier(p, account, profile, tier_arg, assumptions)
    credits = _flag(p, "account", account, "credits")
    as_of_of(p, account)

    open_orders = 0
    if "open_orders" in account:
        n = _number(p, "account", account, "open_orders", check=non_negative)
        if n is not None and n != n.to_integral_value():
            p.add("account.open_orders", f"must be a whole number (got {account['open_orders']})")
        elif n is not None:
            open_orders = int(n)
    else:
        assumptions.append("open_orders not given: no open orders assumed")

    assets = _load_assets(p, doc, profile, assumptions)
    if not credits and CREDITS in assets:
        credits = "credits" not in account  # an explicit credits = false stands
        if credits:
            assumptions.append(f"credits mode: the account holds {CREDITS} (Binance Credits, SPEC §10)")
    info_thresholds, info_fees = _load_exchange_info(p, doc)
    if info_thresholds:
        tier = tier._replace(
            thresholds={**tier.thresholds, **info_thresholds}, from_exchange_info=frozenset(info_thresholds)
        )
        listed = ", ".join(f"{a} {v}" for a, v in info_thresholds.items())
        assumptions.append(f"auto-exchange thresholds from exchangeInfo (autoAssetExchange): {listed}")
    own_brackets = _load_brackets(p, doc)
    brackets = dict(own_brackets)
    for symbol in _snapshot_wanted(doc, own_brackets):  # the snapshot is read only if a position needs it
        if symbol in profile.brackets:
            brackets[symbol] = profile.brackets[symbol]
    declared = [a for a in _table(Problems(label), "assets", doc.get("assets")) if isinstance(a, str)]
    credits_asset = CREDITS if credits else None
    if credits and CREDITS not in declared and doc.get("positions"):
        p.add(
            "account.credits",
            f"Credits mode books every position in {CREDITS}; add [assets.{CREDITS}] with its balance "
            "(its price defaults to 1)",
        )
    positions = _load_positions(
        p, doc, declared, brackets, mode, assumptions, credits_asset, profile.stable, frozenset(profile.assets)
    )
    if credits and positions:
        assumptions.append(f"credits mode: the PnL and margin of every position are booked in {CREDITS}")
    positions = _resolve_snapshot_and_fees(positions, own_brackets, info_fees, profile, assumptions)
    p.check()
    return Portfolio(
        source=label,
        mode=mode,
        tier=tier,
        open_orders=open_orders,
        rules=profile,
        assets=assets,
        positions=tuple(positions),
        assumptions=tuple(assumptions),
        credits=credits,
    )


def _snapshot_wanted(doc: dict[str, Any], own: dict[str, tuple[Bracket, ...]]) -> list[str]:
    """Symbols of positions that give neither maint_margin_rate nor a [brackets] table of their own."""
    rows = doc.get("positions")
    if not isinstance(rows, list):
        return []
    wanted: dict[str, None] = {}  # an ordered set
    for row in rows:
        if isinstance(row, dict) and "maint_margin_rate" not in row:
            symbol = row.get("symbol")
            if isinstance(symbol, str) and symbol not in own:
                wanted[symbol] = None
    return list(wanted)


def _pick_tier(
    p: Problems, account: dict[str, Any], profile: Rules, tier_arg: str | None, assumptions: list[str]
) -> Tier:
    """--tier, else [account] tier, else the profile's first tier (named in assumptions)."""
    names = [t.name for t in profile.tiers]
    if tier_arg is not None:
        tier = profile.tier(tier_arg)
        if tier is None:
            raise InputError(
                [f"--tier: unknown tier {_safe(tier_arg)!r} for rules {profile.name}{_suggest(tier_arg, names)}"]
            )
        _text(p, "account", account, "tier")  # still checked: a wrong type is reported
        return tier
    tier_name = _text(p, "account", account, "tier")
    if tier_name:
        tier = profile.tier(tier_name)
        if tier is not None:
            return tier
        p.add(
            "account.tier",
            f"unknown tier {_safe(tier_name)!r} for rules {profile.name}{_suggest(tier_name, names)}"
            " (or choose the tier with --tier NAME)",
        )
        return profile.tiers[0]
    if "tier" not in account:
        assumptions.append(f"tier not given: {profile.tiers[0].name} (first tier of rules {profile.name})")
    return profile.tiers[0]


def _load_exchange_info(p: Problems, doc: dict[str, Any]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """[exchange_info]: figures from a saved GET /fapi/v1/exchangeInfo (written by `mamcli import
    --exchange-info`): thresholds (asset -> autoAssetExchange, asset units) and liquidation_fee (symbol ->
    liquidationFee). They override the rules profile."""
    raw = _table(p, "exchange_info", doc.get("exchange_info"))
    _unknown_keys(p, "exchange_info.", raw, EXCHANGE_INFO_KEYS)
    if "source" in raw and not isinstance(raw["source"], str):
        p.add("exchange_info.source", "must be text in quotes")
    thresholds: dict[str, Decimal] = {}
    table = _table(p, "exchange_info.thresholds", raw.get("thresholds"))
    for asset in table:
        if not is_asset_name(str(asset)):
            p.add(f"exchange_info.thresholds.{_safe(asset)}", "an asset name is upper-case letters and digits")
            continue
        d = _number(p, "exchange_info.thresholds", table, asset, check=non_positive)
        if d is not None:
            thresholds[asset] = d
    fees, _ = _load_fees(p, "exchange_info.liquidation_fee", raw.get("liquidation_fee"), None)
    return thresholds, fees


def _resolve_snapshot_and_fees(
    positions: list[Position],
    own_brackets: dict[str, tuple[Bracket, ...]],
    info_fees: dict[str, Decimal],
    profile: Rules,
    assumptions: list[str],
) -> list[Position]:
    """Name the positions that rest on the profile's bracket snapshot; give each its liquidation fee
    (exchangeInfo first, then the profile's per-symbol rate, then its default, named)."""
    from_snapshot: dict[str, None] = {}  # ordered sets
    defaulted: dict[str, None] = {}
    from_info: dict[str, None] = {}
    out = []
    for pos in positions:
        symbol = pos.symbol
        fee: Decimal | None
        if pos.maint_margin_rate is None and symbol not in own_brackets and pos.brackets:
            from_snapshot[symbol] = None
        if symbol in info_fees:
            fee = info_fees[symbol]
            from_info[symbol] = None
        elif symbol in profile.liquidation_fees:
            fee = profile.liquidation_fees[symbol]
        else:
            fee = profile.default_liquidation_fee
            if fee is not None:
                defaulted[symbol] = None
        out.append(pos if fee is None else pos._replace(liquidation_fee=fee))
    if from_snapshot:
        assumptions.append(
            f"maintenance brackets for {_listing(from_snapshot)} from the snapshot of rules {profile.name} "
            f"as of {profile.brackets_as_of} ({profile.brackets_source or 'no source given'}); "
            "import --brackets gives today's"
        )
    if from_info:
        assumptions.append(f"liquidation fee of {_listing(from_info)} from exchangeInfo (liquidationFee)")
    if defaulted:
        assumptions.append(
            f"liquidation fee of {_listing(defaulted)}: {profile.default_liquidation_fee}, the default of rules "
            f"{profile.name} (a stand-in; exchangeInfo liquidationFee gives the symbol's own)"
        )
    return out


def _listing(symbols: dict[str, None], most: int = 8) -> str:
    names = list(symbols)
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def _load_assets(p: Problems, doc: dict[str, Any], profile: Rules, assumptions: list[str]) -> dict[str, Asset]:
    raw = _table(p, "assets", doc.get("assets"))
    if not raw:
        p.add("assets", "no [assets.X] table: at least one asset with balance and price is required")
    assets = {}
    from_profile = []
    defaulted_ask = False
    for name, fields in raw.items():
        key = f"assets.{_safe(name)}"
        if not is_asset_name(str(name)):
            p.add(key, "an asset name is upper-case letters and digits, such as BTC or USDT")
            continue
        if not isinstance(fields, dict):
            p.add(key, "must be a table with balance and price")
            continue
        _unknown_keys(p, f"{key}.", fields, ASSET_KEYS)
        balance = _number(p, key, fields, "balance", required=True)
        price = _number(p, key, fields, "price", required=name != CREDITS, check=positive)
        if name == CREDITS and "price" not in fields:
            price = ONE
            assumptions.append(f"{CREDITS}: no price given: 1 USD (Binance Credits; no {CREDITS}USD index row)")
        own = {k: _number(p, key, fields, k, check=fraction) for k in BUFFER_KEYS if k in fields}
        if any(k in fields and own.get(k) is None for k in BUFFER_KEYS):
            continue  # already reported
        prof = profile.assets.get(name, {})
        used: list[str] = []

        def pick(
            k: str,
            fallback: Decimal | None = None,
            own: dict[str, Decimal | None] = own,
            prof: dict[str, Decimal] = prof,
            used: list[str] = used,
        ) -> Decimal | None:
            if k in own:
                return own[k]
            if k in prof:
                used.append(f"{_WORDS[k]} {prof[k]}")
                return prof[k]
            return fallback

        haircut = pick("haircut")
        if haircut is None:
            p.add(
                key,
                f"no haircut: rules {profile.name} has none for {name}; add haircut = ... "
                f"(Binance bidBuffer, e.g. 0.05) under [{key}]",
            )
            continue
        ae_haircut = pick("autoexchange_haircut")
        if ae_haircut is None:
            ae_haircut = haircut
            assumptions.append(
                f"{name}: no auto-exchange haircut given or in rules {profile.name}; its haircut {haircut} is used"
            )
        ask_buffer = pick("ask_buffer")
        ae_ask = pick("autoexchange_ask_buffer")
        if ask_buffer is None or ae_ask is None:
            defaulted_ask = True
        if used:
            stand_in = " (stand-ins; Binance publishes today's in its assetIndex)"
            from_profile.append(
                f"{name}: {', '.join(used)} from rules {profile.name}{stand_in if name in profile.stand_ins else ''}"
            )
        if balance is None or price is None:
            continue
        assets[name] = Asset(
            name=name,
            balance=balance,
            price=price,
            haircut=haircut,
            ask_buffer=haircut if ask_buffer is None else ask_buffer,
            ae_haircut=ae_haircut,
            ae_ask_buffer=ae_haircut if ae_ask is None else ae_ask,
        )
    assumptions.extend(from_profile)
    if defaulted_ask:
        assumptions.append(
            "ask buffers not given default to the matching haircut "
            "(ask_buffer = haircut, autoexchange_ask_buffer = autoexchange_haircut)"
        )
    return assets


def _load_brackets(p: Problems, doc: dict[str, Any]) -> dict[str, tuple[Bracket, ...]]:
    out = {}
    for symbol, rows in _table(p, "brackets", doc.get("brackets")).items():
        key = f"brackets.{_safe(symbol)}"
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            p.add(key, "must be an array of tables like { floor = 0, cap = 50000, mmr = 0.004, cum = 0 }")
            continue
        table: list[Bracket] = []
        ok = True
        for i, row in enumerate(rows, 1):
            rkey = f"{key}[{i}]"
            _unknown_keys(p, f"{rkey}.", row, BRACKET_KEYS)
            floor = _number(p, rkey, row, "floor", required=True, check=non_negative)
            last = i == len(rows)
            cap = _number(p, rkey, row, "cap", required=not last, check=positive)
            mmr = _number(p, rkey, row, "mmr", required=True, check=fraction)
            cum = _number(p, rkey, row, "cum", required=True, check=non_negative)
            if (
                floor is None
                or mmr is None
                or cum is None
                or (cap is None and not last)
                or (cap is None and "cap" in row)
            ):
                ok = False
                continue
            if cap is not None and cap <= floor:
                p.add(f"{rkey}.cap", f"must be above the floor {floor} (got {cap})")
                ok = False
            if i == 1 and floor != 0:
                p.add(f"{rkey}.floor", f"the first bracket must start at 0 (got {floor})")
                ok = False
            if table and table[-1].cap is not None and floor != table[-1].cap:
                p.add(f"{rkey}.floor", f"must equal the previous bracket's cap {table[-1].cap} (got {floor})")
                ok = False
            table.append(Bracket(floor, cap, mmr, cum))
        if ok:
            out[symbol] = tuple(table)
    return out


def _split_symbol(
    symbol: str, assets: frozenset[str], cache: dict[str, tuple[str | None, str | None]]
) -> tuple[str | None, str | None]:
    """(base, quote) of a symbol such as BTCUSDT or BTCUSDT_250328, the quote being a listed asset."""
    if symbol in cache:
        return cache[symbol]
    cache[symbol] = split_symbol(symbol, assets)
    return cache[symbol]


def split_symbol(symbol: str, assets: frozenset[str]) -> tuple[str | None, str | None]:
    """The longest listed asset that ends the symbol's core (and is not all of it) is the quote.  The core's
    suffixes are looked up in the set, longest first: a symbol's length in steps, whatever the asset count."""
    core = symbol.split("_", 1)[0]
    for start in range(1, len(core)):
        if core[start:] in assets:
            return core[:start], core[start:]
    return None, None


def _load_positions(
    p: Problems,
    doc: dict[str, Any],
    assets: Collection[str],
    brackets: Mapping[str, tuple[Bracket, ...]],
    mode: str,
    assumptions: list[str],
    credits: str | None = None,
    quotes: frozenset[str] = frozenset(),
    known: Collection[str] = frozenset(),
) -> list[Position]:
    """`assets` are the names the file declares (valid or not), so one bad asset does not cascade.

    In Credits mode (`credits` names the Credits asset) every position is margined in it, and a symbol's
    quote may be any stable asset of the rules (`quotes`), listed or not.  `known` are the assets the rules
    know: a symbol whose quote is one of them but not listed names the asset missing from [assets]."""
    raw = doc.get("positions", [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        p.add("positions", "must be an array of [[positions]] tables")
        return []
    out = []
    splits: dict[str, tuple[str | None, str | None]] = {}
    splits_known: dict[str, tuple[str | None, str | None]] = {}
    assets = frozenset(a for a in assets if isinstance(a, str))  # looked up per position: a set, not a list
    symbol_quotes = assets | quotes if credits else assets
    known = frozenset(known) | quotes
    for i, row in enumerate(raw, 1):
        key = f"positions[{i}]"
        _unknown_keys(p, f"{key}.", row, POSITION_KEYS)
        symbol = _text(p, key, row, "symbol", required=True)
        if symbol is not None and not is_symbol_name(symbol):
            p.add(f"{key}.symbol", f"{symbol!r} is not a futures symbol such as BTCUSDT")
            symbol = None
        side = _text(p, key, row, "side", ("long", "short"), required=True)
        quantity = _number(p, key, row, "quantity", required=True, check=positive)
        entry = _number(p, key, row, "entry_price", required=True, check=positive)
        mark = _number(p, key, row, "mark_price", required=True, check=positive)
        leverage = _number(p, key, row, "leverage", check=positive)
        margin_type = _text(p, key, row, "margin_type", ("cross", "isolated")) or "cross"
        contract = _text(p, key, row, "contract", CONTRACTS)
        mmr = _number(p, key, row, "maint_margin_rate", check=fraction)
        maint_amount = _number(p, key, row, "maint_amount", check=non_negative)
        iso_wallet = _number(p, key, row, "isolated_wallet", check=non_negative)
        margin_asset = _text(p, key, row, "margin_asset")
        if symbol is None:
            continue
        base, quote = _split_symbol(symbol, symbol_quotes, splits)
        if credits:
            margin_asset = credits
        elif margin_asset is None:
            margin_asset = quote
            if margin_asset is None:
                _, missing = _split_symbol(symbol, known, splits_known)
                if missing is not None:
                    p.add(
                        f"{key}.margin_asset",
                        f"{symbol} is margined in {missing}, which is missing from [assets]; "
                        f"add [assets.{missing}] with its balance (0 if none) and price",
                    )
                else:
                    p.add(
                        f"{key}.margin_asset",
                        f"{symbol}: cannot tell its margin asset from the symbol; "
                        "add margin_asset and list it under [assets]",
                    )
                continue
        elif margin_asset not in assets:
            p.add(
                f"{key}.margin_asset",
                f"{symbol}: margin asset {margin_asset!r} is not under "
                f"[assets]; add [assets.{_safe(margin_asset)}] with balance and price",
            )
            continue
        if margin_type == "isolated" and mode == MULTI:
            p.add(
                f"{key}.margin_type",
                f"{symbol}: an isolated position cannot exist in multi-asset mode "
                "(Binance -4168); make it cross or set account.mode = \"single-asset\"",
            )
        if margin_type != "isolated" and "isolated_wallet" in row:
            p.add(f"{key}.isolated_wallet", f"{symbol}: only an isolated position has an isolated wallet")
        if margin_type == "isolated" and iso_wallet is None and "isolated_wallet" not in row:
            assumptions.append(f"{symbol}: isolated_wallet not given: 0 assumed")
        if leverage is None and "leverage" not in row:
            assumptions.append(f"{symbol}: leverage not given: Binance's default 20 used")
        if contract is None and "contract" not in row:
            contract = "delivery" if "_" in symbol else "perpetual"
        table = brackets.get(symbol, ())
        invalid = any(
            k in row and v is None
            for k, v in (
                ("leverage", leverage),
                ("maint_margin_rate", mmr),
                ("maint_amount", maint_amount),
                ("isolated_wallet", iso_wallet),
            )
        )
        if side is None or quantity is None or entry is None or mark is None or contract is None or invalid:
            continue
        if mmr is None:
            notional = quantity * mark
            if not table:
                p.add(
                    f"{key}.maint_margin_rate",
                    f"{symbol}: no maint_margin_rate and no [brackets] table for {symbol}; give one of them",
                )
                continue
            if table[-1].cap is not None and notional >= table[-1].cap:
                p.add(
                    f"brackets.{symbol}",
                    f"notional {notional} of {key} is at or beyond the last cap {table[-1].cap}; add the next bracket",
                )
                continue
        elif maint_amount is not None and maint_amount > quantity * mark * mmr:
            p.add(
                f"{key}.maint_amount",
                f"{symbol}: {figure(maint_amount)} is more than notional times rate, "
                f"{figure(quantity * mark)} x {plain(mmr)} = {figure(quantity * mark * mmr)}: maintenance would be "
                "negative; give the bracket's cum with its own rate, or a [brackets] table",
            )
            continue
        out.append(
            Position(
                symbol=symbol,
                side=1 if side == "long" else -1,
                quantity=quantity,
                entry_price=entry,
                mark_price=mark,
                margin_asset=margin_asset,
                base_asset=base,
                leverage=DEFAULT_LEVERAGE if leverage is None else leverage,
                margin_type=margin_type,
                isolated_wallet=iso_wallet or ZERO,
                contract=contract,
                maint_margin_rate=mmr,
                maint_amount=maint_amount or ZERO,
                brackets=table,
            )
        )
    return out
