"""Fuzzing: generated TOML documents and mutated samples through the CLI. Every run must end with exit 0,
1 or 2, valid JSON on stdout for 0 and 1, nothing on stdout for 2, and never a traceback."""

import json
import os
from decimal import Decimal
from pathlib import Path

import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamcli.cli import main

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.toml"))
COMMANDS = ["equity", "risk", "ltv", "autoexchange", "switch-check"]
SETTINGS = settings(
    max_examples=int(os.environ.get("MAMCLI_FUZZ_EXAMPLES", 150)),
    deadline=None,
    derandomize=not os.environ.get("MAMCLI_FUZZ_EXAMPLES"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KNOWN = [
    "account",
    "assets",
    "positions",
    "brackets",
    "mode",
    "tier",
    "open_orders",
    "rules",
    "balance",
    "price",
    "haircut",
    "ask_buffer",
    "autoexchange_haircut",
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
    "floor",
    "cap",
    "mmr",
    "cum",
    "USDT",
    "USDC",
    "BTC",
    "ETH",
]
keys = st.one_of(st.sampled_from(KNOWN), st.text(min_size=1, max_size=8))
scalars = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "long",
            "short",
            "cross",
            "isolated",
            "multi-asset",
            "single-asset",
            "BTCUSDT",
            "seed",
            "1e999999",
            "-0",
            "0.1",
            "",
            "NaN",
            "binance-2025",
        ]
    ),
    st.text(max_size=10),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(["account", "assets", "positions", "brackets"]) | keys, values, max_size=5)


def run(path: Path, command: str):
    r = CliRunner().invoke(main, [command, str(path), "--json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert r.exit_code in (0, 1, 2), r.exit_code
    if r.exit_code == 2:
        assert r.stdout == "" and r.stderr.startswith("mamcli: error: ")
    else:
        json.loads(r.stdout, parse_float=Decimal)


def _sanitize(v):
    """tomli-w writes NaN and infinite Decimals and text as TOML allows; drop what it cannot write."""
    if isinstance(v, dict):
        return {str(k): _sanitize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_sanitize(x) for x in v]
    return v


@SETTINGS
@given(documents, st.sampled_from(COMMANDS))
def test_generated_documents(tmp_path, doc, command):
    try:
        text = tomli_w.dumps(_sanitize(doc))
    except (TypeError, ValueError):
        return  # not expressible in TOML
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    run(path, command)


@st.composite
def structured(draw):
    """Plausible portfolios with hostile values in plausible places."""
    number = st.one_of(
        st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=3),
        st.integers(-(10**6), 10**6),
        st.sampled_from(["1e999999", "0", "-1", "NaN", "x"]),
    )
    assets = {
        name: {"balance": draw(number), "price": draw(number)}
        for name in draw(
            st.lists(st.sampled_from(["USDT", "USDC", "BTC", "ETH", "BNB"]), min_size=1, max_size=4, unique=True)
        )
    }
    positions = [
        {
            "symbol": draw(st.sampled_from(["BTCUSDT", "ETHUSDC", "BNBUSDT", "BTCUSDT_251226"])),
            "side": draw(st.sampled_from(["long", "short", "up"])),
            "quantity": draw(number),
            "entry_price": draw(number),
            "mark_price": draw(number),
            "maint_margin_rate": draw(st.sampled_from([Decimal("0.004"), Decimal("0.5"), Decimal(1)])),
            "margin_type": draw(st.sampled_from(["cross", "isolated"])),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    account = {"mode": draw(st.sampled_from(["multi-asset", "single-asset"])), "open_orders": draw(st.integers(0, 2))}
    return {"account": account, "assets": assets, "positions": positions}


@SETTINGS
@given(structured(), st.sampled_from(COMMANDS))
def test_structured_documents(tmp_path, doc, command):
    path = tmp_path / "fuzz.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    run(path, command)


@SETTINGS
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3), st.integers(0, 3)), min_size=1, max_size=4),
    st.sampled_from(COMMANDS),
)
def test_mutated_samples(tmp_path, sample, edits, command):
    data = bytearray(sample.read_bytes())
    for where, insert, delete in edits:
        i = where % (len(data) + 1)
        data[i : i + delete] = insert
    path = tmp_path / "mutant.toml"
    path.write_bytes(bytes(data))
    run(path, command)


PAYLOADS = Path(__file__).parent / "payloads"
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.text(max_size=8),
        st.sampled_from(["0", "-1.5", "NaN", "1e999999", "BTCUSD", "USDTUSD", "BOTH", "LONG", "SHORT"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "symbol",
                    "asset",
                    "assets",
                    "positions",
                    "crossWalletBalance",
                    "positionAmt",
                    "entryPrice",
                    "markPrice",
                    "positionSide",
                    "index",
                    "bidBuffer",
                    "brackets",
                    "notionalFloor",
                    "notionalCap",
                    "maintMarginRatio",
                    "cum",
                    "multiAssetsMargin",
                    "leverage",
                    "marginType",
                    "isolatedWallet",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=15,
)
FILES = {
    "--account": "account_v2.json",
    "--positions": "positionRisk_v2.json",
    "--index": "assetIndex.json",
    "--brackets": "leverageBracket.json",
    "--mode": "multiAssetsMargin.json",
}


def run_import(tmp_path, replaced: dict):
    args = ["import", "-o", "-"]
    for option, name in FILES.items():
        path = tmp_path / name
        path.write_bytes(replaced.get(option, (PAYLOADS / name).read_bytes()))
        args += [option, str(path)]
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 2) and "Traceback" not in r.output
    if r.exit_code == 2:
        assert r.stdout == "" and r.stderr.startswith("mamcli: error: ")
    else:
        assert r.stdout.startswith("# Imported by `mamcli import`")


@SETTINGS
@given(st.sampled_from(sorted(FILES)), json_values)
def test_import_of_generated_payloads(tmp_path, option, value):
    run_import(tmp_path, {option: json.dumps(value).encode()})


@SETTINGS
@given(
    st.sampled_from(sorted(FILES)),
    st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3), st.integers(0, 3)), min_size=1, max_size=4),
)
def test_import_of_mutated_payloads(tmp_path, option, edits):
    data = bytearray((PAYLOADS / FILES[option]).read_bytes())
    for where, insert, delete in edits:
        i = where % (len(data) + 1)
        data[i : i + delete] = insert
    run_import(tmp_path, {option: bytes(data)})
