"""Issue 9, data side: the `binance` profile (default), its thresholds, bracket snapshot and liquidation fees,
--tier, Credits mode (BNFCR) in the loader, and import's --exchange-info, account-only and BNFCR paths.

Every expected figure is worked out by hand beside its assert.
"""

import json
from decimal import Decimal as D
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from mamcli.cli import main
from mamcli.importer import agrees, plain
from mamcli.model import InputError
from mamcli.portfolio import load_portfolio, load_rules, resolve_rules

PAYLOADS = Path(__file__).parent / "payloads"


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def payload(name: str) -> str:
    return str(PAYLOADS / name)


# ------------------------------------------------------------------------------------------ thresholds

# (tier, asset, threshold in asset units, price) as SPEC §10 lists them
THRESHOLDS = [
    (tier, asset, D(value))
    for tier in ("regular", "vip1")
    for asset, value in (("USDT", -5000), ("USDC", -5000), ("BNFCR", -5000), ("BTC", "-0.1"), ("ETH", -5), ("BNB", -10))
] + [
    (tier, asset, D(value))
    for tier in ("vip2", "vip3", "vip4", "vip5", "vip6", "vip7", "vip8", "vip9")
    for asset, value in (
        ("USDT", -10000),
        ("USDC", -10000),
        ("BNFCR", -5000),
        ("BTC", "-0.1"),
        ("ETH", -5),
        ("BNB", -10),
    )
]
PRICES = {"USDT": "1", "USDC": "1", "BTC": "60000", "ETH": "3000", "BNB": "600"}  # BNFCR: no price, 1 by default


def _threshold_file(tmp_path, tier: str, asset: str, balance: D) -> str:
    # open_orders = 1 keeps the idle-account LTV trigger out; no positions, so no liquidation trigger: only
    # the threshold can fire. The collateral is another stablecoin worth far more than any deficit.
    collateral = "USDC" if asset == "USDT" else "USDT"
    price = f"price = {PRICES[asset]}\n" if asset in PRICES else ""
    text = (
        f'[account]\ntier = "{tier}"\nopen_orders = 1\n'
        f"[assets.{asset}]\nbalance = {balance}\n{price}"
        f"[assets.{collateral}]\nbalance = 10000000\nprice = 1\n"
    )
    path = tmp_path / "p.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("tier, asset, threshold", THRESHOLDS)
def test_each_threshold_fires_at_exactly_its_value_and_not_just_above(tmp_path, tier, asset, threshold):
    r = invoke("autoexchange", _threshold_file(tmp_path, tier, asset, threshold), "--json")
    doc = json.loads(r.stdout, parse_float=D)
    assert r.exit_code == 1, r.stderr  # balance == threshold: "at or below" fires
    assert doc["rules"] == "binance" and doc["tier"] == tier
    assert [(t["kind"], t["asset"]) for t in doc["triggers"]] == [("threshold", asset)]
    assert doc["triggers"][0]["threshold"] == threshold
    above = threshold + D("0.00000001")  # one unit of the 8th decimal above: not yet
    r = invoke("autoexchange", _threshold_file(tmp_path, tier, asset, above), "--json")
    assert r.exit_code == 0, r.stdout
    assert json.loads(r.stdout)["triggers"] == []


def test_bnfcr_without_a_price_is_worth_one_usd_named(tmp_path):
    pf = load_portfolio(_threshold_file(tmp_path, "regular", "BNFCR", D(-1)))
    assert pf.assets["BNFCR"].price == 1
    assert any(a.startswith("BNFCR: no price given: 1 USD") for a in pf.assumptions)
    assert pf.credits is True  # holding BNFCR is Credits mode
    assert any(a.startswith("credits mode: the account holds BNFCR") for a in pf.assumptions)


# ------------------------------------------------------------------------------------------ the profile


def _binance():
    return load_rules(*resolve_rules("binance", None, "test"))


def test_binance_2025_is_another_name_for_binance():
    assert resolve_rules("binance-2025", None, "test") == resolve_rules("binance", None, "test")


def test_stable_assets_are_data():
    assert _binance().stable == {"USDT", "USDC", "FDUSD", "BFUSD", "LDUSDT", "RWUSD", "USD1", "BNFCR"}
    seed = load_rules(*resolve_rules("seed", None, "test"))
    assert seed.stable == {"USDT", "USDC"}
    assert {"BTC", "ETH", "BNB"} <= set(_binance().assets) and not {"BTC", "ETH", "BNB"} & _binance().stable


def test_tiers_are_binance_names():
    assert [t.name for t in _binance().tiers] == ["regular"] + [f"vip{i}" for i in range(1, 10)]


def test_binance_tier_thresholds_as_published():
    # Multi-Assets Info page: regular and VIP 1 -5,000 USDT/USDC, everyone else -10,000; BTC -0.1 for all;
    # BNFCR -5,000, ETH -5, BNB -10 (exchangeInfo capture, SPEC §10).
    low = {"USDT": -5000, "USDC": -5000, "BNFCR": -5000, "BTC": D("-0.1"), "ETH": -5, "BNB": -10}
    high = {**low, "USDT": -10000, "USDC": -10000}
    tiers = _binance().tiers
    assert [t.thresholds for t in tiers] == [low, low] + [high] * 8
    assert all(t.threshold_usd is None for t in tiers)


PROFILE_HEAD = 'name = "r"\nltv_trigger = 0.995\n[bands]\nyellow = 0.5\nred = 0.8\n'


def test_tiers_sharing_thresholds_are_listed_once_with_names(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(
        PROFILE_HEAD
        + '[[tiers]]\nname = "a"\nthreshold_usd = -100\n'
        + '[[tiers]]\nnames = ["b", "c"]\nthresholds = { USDT = -7 }\n'
        + '[[tiers]]\nname = "d"\nthreshold_usd = -50\n'
    )
    tiers = load_rules(str(path), "r.toml").tiers
    assert [(t.name, t.threshold_usd, t.thresholds) for t in tiers] == [
        ("a", -100, {}),
        ("b", None, {"USDT": -7}),
        ("c", None, {"USDT": -7}),
        ("d", -50, {}),
    ]


@pytest.mark.parametrize(
    "tiers, message",
    [
        ('[[tiers]]\nname = "a"\nnames = ["b"]\n', "tiers[1].names: give name or names, not both"),
        ('[[tiers]]\nnames = "b"\n', "tiers[1].names: must be a list of tier names in quotes"),
        ("[[tiers]]\nnames = []\n", "tiers[1].names: must be a list of tier names in quotes"),
        ("[[tiers]]\nnames = [1]\n", "tiers[1].names: must be a list of tier names in quotes"),
        ('[[tiers]]\nnames = ["a", "b"]\n[[tiers]]\nname = "b"\n', "tiers: tier 'b' is listed more than once"),
        ('[[tiers]]\nthreshold_usd = -1\n', "tiers[1].name: is required"),
    ],
)
def test_tier_names_are_validated(tmp_path, tiers, message):
    path = tmp_path / "r.toml"
    path.write_text(PROFILE_HEAD + tiers)
    with pytest.raises(InputError) as e:
        load_rules(str(path), "r.toml")
    assert any(message in line for line in e.value.problems), e.value.problems


SNAPSHOT_SYMBOLS = [
    f"{base}{quote}" for base in ("BTC", "ETH", "BNB", "SOL", "XRP", "DOGE") for quote in ("USDT", "USDC")
]


def test_bracket_snapshot_covers_the_most_traded_symbols_and_is_dated():
    rules = _binance()
    assert set(SNAPSHOT_SYMBOLS) <= set(rules.brackets)
    assert rules.brackets_as_of == "2024-10-24" and "freqtrade" in rules.brackets_source


@pytest.mark.parametrize("symbol", SNAPSHOT_SYMBOLS)
def test_every_shipped_bracket_table_is_continuous(symbol):
    table = _binance().brackets[symbol]
    assert table[0].floor == 0 and table[0].cum == 0
    for lower, upper in pairwise(table):
        assert upper.floor == lower.cap  # contiguous: each floor is the previous cap
        assert upper.mmr > lower.mmr
        # cum_n = cum_(n-1) + floor_n × (mmr_n − mmr_(n−1))
        assert upper.cum == lower.cum + upper.floor * (upper.mmr - lower.mmr)


def test_btcusdt_snapshot_second_bracket_by_hand():
    b = _binance().brackets["BTCUSDT"][1]
    # 0 + 50,000 × (0.005 − 0.004) = 50
    assert (b.floor, b.cap, b.mmr, b.cum) == (50000, 600000, D("0.005"), 50)


def test_liquidation_fees():
    rules = _binance()
    assert rules.liquidation_fees == {"BTCUSDT": D("0.0125"), "ETHUSDT": D("0.0125")}
    assert rules.default_liquidation_fee == D("0.0125")
    assert load_rules(*resolve_rules("seed", None, "test")).default_liquidation_fee is None


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[brackets]\nBTCUSDT = [ { floor = 0, cap = 50000, mmr = 0.004, cum = 0 } ]\n', "brackets.as_of: is required"),
        ('[brackets]\nas_of = "yesterday"\n', "brackets.as_of: must be a date"),
        ("[liquidation_fee]\ndefault = 2\n", "liquidation_fee.default: must be at least 0 and below 1"),
        ("[liquidation_fee]\nbtc = 0.01\n", "liquidation_fee.btc: not a futures symbol"),
        ('[assets.USDT]\nhaircut = 0.0001\nstable = "yes"\n', "assets.USDT.stable: must be true or false"),
    ],
)
def test_profile_keys_are_validated(tmp_path, extra, message):
    path = tmp_path / "r.toml"
    path.write_text(
        'name = "r"\nltv_trigger = 0.995\n[bands]\nyellow = 0.5\nred = 0.8\n[[tiers]]\nname = "t"\n' + extra
    )
    with pytest.raises(InputError) as e:
        load_rules(str(path), "r.toml")
    assert any(message in line for line in e.value.problems), e.value.problems


# ------------------------------------------------------------------------------------------ loader


POSITION = """
[assets.USDT]
balance = 10000
price = 1
[[positions]]
symbol = "{symbol}"
side = "long"
quantity = 1
entry_price = 60000
mark_price = 60000
leverage = 10
"""


def test_default_profile_when_none_is_named(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(POSITION.format(symbol="BTCUSDT"))
    doc = json.loads(invoke("risk", str(path), "--json").stdout, parse_float=D)
    assert doc["rules"] == "binance" and doc["tier"] == "regular"
    assert "rules not given: binance (the default profile)" in doc["assumptions"]
    assert "tier not given: regular (first tier of rules binance)" in doc["assumptions"]
    # no rate, no table of its own: the snapshot's BTCUSDT, 60,000 in bracket 2 → 60,000 × 0.005 − 50 = 250
    assert doc["positions"][0]["maint_margin"] == 250
    assert any("from the snapshot of rules binance as of 2024-10-24" in a for a in doc["assumptions"])


def test_liquidation_fee_per_symbol_and_default_named(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        POSITION.format(symbol="BTCUSDT")
        + "[[positions]]"
        + POSITION.format(symbol="SOLUSDT").split("[[positions]]")[1]
    )
    pf = load_portfolio(str(path))
    btc, sol = pf.positions
    assert btc.liquidation_fee == D("0.0125")  # BTCUSDT's own
    assert sol.liquidation_fee == D("0.0125")  # the profile's default, named
    assert [a for a in pf.assumptions if "liquidation fee" in a] == [
        "liquidation fee of SOLUSDT: 0.0125, the default of rules binance (a stand-in; exchangeInfo liquidationFee "
        "gives the symbol's own)"
    ]


def test_tier_option_wins_over_the_file(tmp_path):
    path = _threshold_file(tmp_path, "vip2", "USDT", D(-6000))
    assert invoke("autoexchange", path).exit_code == 0  # vip2: −6,000 > −10,000
    r = invoke("--tier", "regular", "autoexchange", path, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["tier"] == "regular"  # regular: −6,000 ≤ −5,000
    r = invoke("--tier", "gold", "autoexchange", path)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "mamcli: error: --tier: unknown tier 'gold' for rules binance (known: regular, vip1, vip2, vip3, vip4, "
        "vip5, vip6, vip7, vip8, vip9)"
    ]


def test_seed_tiers_with_the_seed_profile(tmp_path):
    path = _threshold_file(tmp_path, "general", "USDT", D(-10000))
    r = invoke("--rules", "seed", "autoexchange", path, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["tier"] == "general"  # −10,000 × 1 ≤ −10,000 USD


def test_credits_flag(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[account]\ncredits = true\n[assets.USDT]\nbalance = 1\nprice = 1\n")
    assert load_portfolio(str(path)).credits is True
    path.write_text("[account]\ncredits = false\n[assets.BNFCR]\nbalance = 1\n")
    assert load_portfolio(str(path)).credits is False  # an explicit false stands
    path.write_text('[account]\ncredits = "yes"\n[assets.USDT]\nbalance = 1\nprice = 1\n')
    with pytest.raises(InputError) as e:
        load_portfolio(str(path))
    assert e.value.problems == [f"{path}: account.credits: must be true or false (got yes)"]


# ------------------------------------------------------------------------------------------ import

ACCOUNT_ONLY = ["--account", payload("account_v2.json"), "--index", payload("assetIndex.json")]
ACCOUNT_ONLY += ["--brackets", payload("leverageBracket.json"), "--mode", payload("multiAssetsMargin.json")]


def test_account_only_import(tmp_path):
    out = tmp_path / "p.toml"
    r = invoke("import", *ACCOUNT_ONLY, "-o", str(out))
    assert r.exit_code == 0, r.stderr
    text = out.read_text()
    assert "# positions: from the account payload's own rows (no --positions): mark = notional / positionAmt" in text
    pf = load_portfolio(str(out))
    btc, eth = pf.positions
    # BTCUSDT: 6,000 / 0.100 = 60,000; ETHUSDT: −6,000 / −2.000 = 3,000 (short)
    assert (btc.side_name, btc.quantity, btc.mark_price, btc.entry_price, btc.leverage) == (
        "long",
        D("0.1"),
        60000,
        63000,
        10,
    )
    assert (eth.side_name, eth.quantity, eth.mark_price, eth.entry_price) == ("short", 2, 3000, 3250)
    # as with positionRisk (tests/test_import_check.py): equity 2,200 × 0.9999 + 0.05 × 57,000 = 5,049.78;
    # maintenance (6,000 × 0.004 + 6,000 × 0.005) × 1.0001 = 54.0054
    assert "totalMarginBalance 5049.78000000 agrees" in r.stderr
    assert "totalMaintMargin 54.00540000 agrees" in r.stderr


def test_exchange_info_overrides_the_profile(tmp_path):
    out = tmp_path / "p.toml"
    r = invoke("import", *ACCOUNT_ONLY, "--exchange-info", payload("exchangeInfo.json"), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    pf = load_portfolio(str(out))
    # regular's USDT threshold is −5,000; exchangeInfo says −10,000; BTC −0.10000000 → −0.1
    assert pf.tier.name == "regular" and pf.tier.thresholds["USDT"] == -10000 and pf.tier.thresholds["BTC"] == D("-0.1")
    assert pf.tier.thresholds["ETH"] == -5  # not an asset of the account: the profile's stays
    assert "auto-exchange thresholds from exchangeInfo (autoAssetExchange): USDT -10000, BTC -0.1" in pf.assumptions
    btc, eth = pf.positions
    assert (btc.liquidation_fee, eth.liquidation_fee) == (D("0.0125"), D("0.015"))  # exchangeInfo's, not 0.0125
    assert "liquidation fee of BTCUSDT, ETHUSDT from exchangeInfo (liquidationFee)" in pf.assumptions


def test_exchange_info_threshold_decides_autoexchange(tmp_path):
    path = _threshold_file(tmp_path, "regular", "USDT", D(-6000))
    assert invoke("autoexchange", path).exit_code == 1  # regular: −6,000 ≤ −5,000
    with open(path, "a") as f:
        f.write('[exchange_info]\nsource = "GET /fapi/v1/exchangeInfo"\nthresholds = { USDT = -10000 }\n')
    r = invoke("autoexchange", path, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["triggers"] == []  # −6,000 > −10,000


def test_bad_exchange_info(tmp_path):
    bad = tmp_path / "ei.json"
    bad.write_text('{"assets": [{"asset": "USDT", "autoAssetExchange": "5"}], "symbols": []}')
    r = invoke("import", *ACCOUNT_ONLY, "--exchange-info", str(bad))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"mamcli: error: {bad}: assets[0](USDT).autoAssetExchange: expected 0 or a negative threshold, got 5"
    ]
    bad.write_text("[]")
    r = invoke("import", *ACCOUNT_ONLY, "--exchange-info", str(bad))
    assert r.exit_code == 2 and "does not look like GET /fapi/v1/exchangeInfo" in r.stderr


BTC_BRACKETS = ["--index", payload("assetIndex.json"), "--brackets", payload("leverageBracket.json")]


def test_bnfcr_account_import_is_credits_mode(tmp_path):
    out = tmp_path / "p.toml"
    r = invoke("import", "--account", payload("account_v3_credits.json"), *BTC_BRACKETS, "-o", str(out))
    assert r.exit_code == 0, r.stderr
    text = out.read_text()
    assert "credits = true" in text and "mode =" not in text  # v3: no multiAssetsMargin, no --mode
    assert "# account.mode: the account payload has no multiAssetsMargin (v3)" in text
    pf = load_portfolio(str(out))
    assert pf.credits and pf.assets["BNFCR"].balance == 1000 and pf.assets["BNFCR"].price == 1
    assert "mode not given: multi-asset (SPEC default)" in pf.assumptions
    (btc,) = pf.positions
    # v3 row: mark = 590 / 0.010 = 59,000; entry = 59,000 − (−10) / 0.010 = 60,000; leverage: default 20
    assert (btc.quantity, btc.mark_price, btc.entry_price, btc.leverage) == (D("0.01"), 59000, 60000, 20)
    assert "entry prices of BTCUSDT: not in the account rows (v3)" in text


def test_v3_margin_asset_bnfcr_is_credits_mode(tmp_path):
    out = tmp_path / "p.toml"
    account = tmp_path / "account.json"
    doc = json.loads(Path(payload("account_v3_credits.json")).read_text())
    doc["assets"] = [a for a in doc["assets"] if a["asset"] != "BNFCR"]  # the position's marginAsset alone
    account.write_text(json.dumps(doc))
    positions = ["--positions", payload("positionRisk_v3_credits.json")]
    r = invoke("import", "--account", str(account), *positions, *BTC_BRACKETS, "-o", str(out))
    assert r.exit_code == 0, r.stderr
    pf = load_portfolio(str(out))
    assert pf.credits and pf.positions[0].margin_asset == "BNFCR" and pf.assets["BNFCR"].balance == 0


def test_import_reports_the_account_figures():
    from mamcli import importer

    payloads = importer.Payloads()
    for kind, name in (("account", "account_v3_credits.json"), ("index", "assetIndex.json")):
        payloads.add(kind, name, importer.read_json(payload(name)))
    payloads.add("brackets", "b", importer.read_json(payload("leverageBracket.json")))
    _, report = importer.build(payloads)
    assert report["totalMarginBalance"] == D("990") and report["availableBalance"] == D("960.5")
    assert report["totalMaintMargin"] == D("2.36") and report["totalInitialMargin"] == D("29.5")
    assert report["assets"]["BNFCR"]["marginBalance"] == D("990")


# ------------------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    "value, text",
    [
        (D("0E-8"), "0.00000000"),
        (D("-0E-8"), "0.00000000"),
        (D("1E+3"), "1000.00000000"),
        (D("31.022612"), "31.02261200"),
        (D("0.000000005"), "0.00000001"),  # half-up
        (D("-0.000000005"), "-0.00000001"),
        (D("-1234.5"), "-1234.50000000"),
    ],
)
def test_plain_never_writes_an_exponent(value, text):
    assert plain(value) == text


def test_plain_without_rounding():
    assert plain(D("1E-12"), None) == "0.000000000001"


def test_agrees_within_one_unit_of_the_8th_decimal():
    assert agrees(D("31.02261200"), D("31.022612"))
    assert agrees(D("100.00000001"), D("100"))  # exactly one unit: agrees
    assert not agrees(D("100.000000011"), D("100"))  # beyond it
    assert agrees(D("-0.00000001"), D("0"))
