"""The Monitoring Plugins contract for `mamcli check` (Nagios, Icinga, Zabbix, Sensu): every alarm (SPEC §9).

Pure functions over the commands' results: the margin ratio against `-w`/`-c`, auto-exchange (triggered, or a
wallet near its threshold), LTV, the least liquidation shock, the age of the data.  Ranges follow the
Monitoring Plugins guidelines: `10` alerts outside 0…10, `10:` below 10, `~:10` above 10, `10:20` outside
10…20, `@10:20` inside 10…20 (ends included).  The margin ratio is compared in percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from mamcli.model import InputError
from mamcli.numbers import D, NumberError, fixed, plain
from mamcli.results import (
    AutoexchangeResult,
    LiquidationTrigger,
    LtvResult,
    RiskResult,
    Shocks,
    Threshold,
    ThresholdTrigger,
    Trigger,
)

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


class Range:
    def __init__(self, text: str):
        self.text = text
        body = text[1:] if text.startswith("@") else text
        self.inside = text.startswith("@")
        try:
            if ":" in body:
                start, end = body.split(":", 1)
                self.start = None if start == "~" else (D(start) if start else Decimal(0))
                self.end = D(end) if end else None
            else:
                self.start, self.end = Decimal(0), D(body)
        except NumberError as e:
            raise InputError([f"range {text!r}: {e}"]) from None
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InputError([f"range {text!r}: start is above end"])

    def alerts(self, value: Decimal | None) -> bool:
        """None is an unbounded ratio (equity gone): beyond any finite end."""
        if value is None:
            outside = self.end is not None
        else:
            outside = (self.start is not None and value < self.start) or (self.end is not None and value > self.end)
        return not outside if self.inside else outside


# ---------------------------------------------------------------------------------------------- every alarm
# SPEC §9: check's status is the worst of its findings.  CRITICAL > UNKNOWN > WARNING > OK (not seeing the
# account is worse than a known warning); between findings of one status, the order of KINDS.

MARGIN, AUTOEXCHANGE, LTV, LIQUIDATION, AGE = range(5)
KINDS = ("margin ratio", "auto-exchange", "LTV", "liquidation distance", "age")
SEVERITY = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}
HUNDRED = Decimal(100)


def _number(text: str, option: str, *, percent: bool = False) -> Decimal:
    body = text[:-1] if percent and text.endswith("%") else text
    try:
        value = D(body)
    except NumberError as e:
        raise InputError([f"{option}: {text!r}: {e}"]) from None
    if value < 0 or (percent and value > HUNDRED):
        bound = "between 0 and 100" if percent else "0 or more"
        raise InputError([f"{option}: {text!r}: must be {bound}"])
    return value


class Limits:
    """check's thresholds, from its options (percentages as percent, the LTV as a value, the age in seconds)."""

    def __init__(
        self,
        warning: str = "50",
        critical: str = "80",
        ae_warn: str = "20",
        ltv_warn: str = "0.9",
        liq_warn: str = "15",
        liq_crit: str = "5",
        max_age: str | None = None,
    ) -> None:
        self.warning, self.critical = Range(warning), Range(critical)
        self.ae_warn = _number(ae_warn, "--ae-warn", percent=True)
        self.ltv_warn = _number(ltv_warn, "--ltv-warn")
        self.liq_warn = _number(liq_warn, "--liq-warn", percent=True)
        self.liq_crit = _number(liq_crit, "--liq-crit", percent=True)
        self.max_age = None if max_age is None else _number(max_age, "--max-age")
        self.max_age_text = max_age


class Finding:
    def __init__(self, status: int, kind: int, text: str) -> None:
        self.status, self.kind, self.text = status, kind, text

    def rank(self) -> tuple[int, int]:
        return (-SEVERITY[self.status], self.kind)

    def __repr__(self) -> str:
        return f"Finding({STATUS[self.status]}, {KINDS[self.kind]!r}, {self.text!r})"


def _n(d: Decimal, places: int = 2) -> str:
    return fixed(d, places, grouping=False)


def _p(d: Decimal) -> str:
    return plain(d, 8, grouping=False)


def margin_finding(risk: RiskResult, limits: Limits) -> Finding:
    ratio = risk.margin_ratio
    percent = None if ratio is None else ratio * 100
    code = CRITICAL if limits.critical.alerts(percent) else WARNING if limits.warning.alerts(percent) else OK
    shown = "unbounded" if percent is None else _n(percent) + "%"
    return Finding(code, MARGIN, f"margin ratio {shown} ({risk.band}), equity {_n(risk.equity_usd)} USD")


def _measure(t: Threshold) -> Decimal:
    """The wallet in the threshold's unit (asset units, or USD)."""
    return t.threshold + t.headroom


def _unit(t: Threshold) -> str:
    return " USD" if t.unit == "USD" else ""


def _trigger_text(trigger: Trigger, thresholds: dict[str, Threshold]) -> str:
    if isinstance(trigger, ThresholdTrigger):
        t = thresholds.get(trigger.asset)
        measure = trigger.balance if t is None else _measure(t)
        unit = " USD" if trigger.unit == "USD" else ""
        return f"{trigger.asset} {_n(measure)}{unit} <= {_p(trigger.threshold)}{unit}"
    if isinstance(trigger, LiquidationTrigger):
        ratio = "unbounded" if trigger.margin_ratio is None else _n(trigger.margin_ratio * 100) + "%"
        return f"margin ratio {ratio} with a negative balance"
    ltv = "unbounded" if trigger.ltv is None else _p(trigger.ltv)
    return f"LTV {ltv} >= {_p(trigger.trigger)} while idle"


def autoexchange_findings(ae: AutoexchangeResult, limits: Limits) -> list[Finding]:
    """Triggered: CRITICAL.  A wallet not yet at its (negative) threshold but at or below (1 − ae_warn %) of
    it (−8,000 against −10,000 at 20 %): WARNING."""
    thresholds = {t.asset: t for t in ae.thresholds}
    out = []
    if ae.triggered:
        texts = ", ".join(_trigger_text(t, thresholds) for t in ae.triggers)
        out.append(Finding(CRITICAL, AUTOEXCHANGE, f"auto-exchange triggered: {texts}"))
    near = near_thresholds(ae.thresholds, limits.ae_warn)
    if near:
        texts = ", ".join(
            f"{t.asset} {_n(_measure(t))}{_unit(t)} within {_p(limits.ae_warn)}% of {_p(t.threshold)}{_unit(t)}"
            for t in near
        )
        out.append(Finding(WARNING, AUTOEXCHANGE, f"auto-exchange near: {texts}"))
    return out


def ltv_finding(lt: LtvResult, limits: Limits) -> Finding | None:
    """Triggered: CRITICAL.  The rule applies (no positions, no orders) and ltv >= ltv_warn: WARNING."""
    shown = "unbounded" if lt.ltv is None else _p(lt.ltv)
    if lt.triggered:
        return Finding(CRITICAL, LTV, f"LTV {shown} >= {_p(lt.trigger)}: triggered (idle account)")
    if lt.applies and (lt.ltv is None or lt.ltv >= limits.ltv_warn):
        return Finding(WARNING, LTV, f"LTV {shown} >= {_p(limits.ltv_warn)} (trigger {_p(lt.trigger)})")
    return None


def least_liquidation_shock(shocks: Mapping[str, Shocks] | None) -> tuple[Decimal, str] | None:
    """The smallest magnitude among the liquidation shocks: (signed shock, label such as `BTC down`)."""
    best: tuple[Decimal, str] | None = None
    for label, pair in (shocks or {}).items():
        for value, way in ((pair.down, "down"), (pair.up, "up")):
            if value is not None and (best is None or abs(value) < abs(best[0])):
                best = (value, f"{label} {way}")
    return best


def liquidation_finding(shocks: Mapping[str, Shocks] | None, limits: Limits) -> Finding | None:
    """The least shock of index and marks that liquidates the account, in percent: below liq_crit CRITICAL,
    below liq_warn WARNING.  No shock (no positions, or none within reach): nothing to say."""
    least = least_liquidation_shock(shocks)
    if least is None:
        return None
    percent = abs(least[0]) * 100
    code = CRITICAL if percent < limits.liq_crit else WARNING if percent < limits.liq_warn else OK
    if code == OK:
        return None
    return Finding(code, LIQUIDATION, f"liquidation distance {_n(percent)}% ({least[1]})")


def age_seconds(as_of: datetime, now: datetime) -> Decimal:
    delta = now - as_of
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


def age_finding(as_of: datetime | None, now: datetime, limits: Limits) -> Finding | None:
    """With --max-age: data older than that, or of no known time, is UNKNOWN."""
    if limits.max_age is None:
        return None
    if as_of is None:
        return Finding(
            UNKNOWN, AGE, f"the time of the data is not known (no as_of) and --max-age is {limits.max_age_text}"
        )
    age = age_seconds(as_of, now)
    if age > limits.max_age:
        return Finding(
            UNKNOWN, AGE, f"data {age.to_integral_value(ROUND_FLOOR)} s old, older than --max-age {limits.max_age_text}"
        )
    return None


def near_thresholds(thresholds: tuple[Threshold, ...], ae_warn: Decimal) -> list[Threshold]:
    """Wallets not yet at their (negative) threshold but within `ae_warn` percent of it: at or below
    (1 − ae_warn %) of it, −8,000 against −10,000 at 20 %."""
    return [
        t
        for t in thresholds
        if t.threshold < 0 and t.headroom > 0 and _measure(t) <= t.threshold * (1 - ae_warn / HUNDRED)
    ]


def least_headroom(thresholds: tuple[Threshold, ...], prices: Mapping[str, Decimal]) -> tuple[Decimal, str] | None:
    """The least USD distance of any wallet to its auto-exchange threshold (at the index price), and its asset."""
    values = [(t.headroom if t.unit == "USD" else t.headroom * prices[t.asset], t.asset) for t in thresholds]
    return min(values, key=lambda v: v[0]) if values else None


def headroom_usd(thresholds: tuple[Threshold, ...], prices: Mapping[str, Decimal]) -> Decimal | None:
    """The least USD distance of any wallet to its auto-exchange threshold (headroom at the index price)."""
    least = least_headroom(thresholds, prices)
    return None if least is None else least[0]


def findings(
    risk: RiskResult,
    ae: AutoexchangeResult,
    lt: LtvResult,
    as_of: datetime | None,
    now: datetime,
    limits: Limits,
) -> list[Finding]:
    """Every finding, the margin ratio's always, worst first (status, then the order of KINDS)."""
    found = [margin_finding(risk, limits), *autoexchange_findings(ae, limits)]
    found += [
        f
        for f in (
            ltv_finding(lt, limits),
            liquidation_finding(risk.liquidation_shocks, limits),
            age_finding(as_of, now, limits),
        )
        if f is not None
    ]
    return sorted(found, key=Finding.rank)


def status(
    risk: RiskResult,
    ae: AutoexchangeResult,
    lt: LtvResult,
    prices: Mapping[str, Decimal],
    as_of: datetime | None,
    now: datetime,
    limits: Limits,
) -> tuple[int, str]:
    """check's status and its line: `MAMCLI STATUS - worst finding; …; margin ratio …, equity … USD | perfdata`.

    The line names every finding that is not OK, worst first, and ends with the margin ratio (named earlier
    when it is itself a finding)."""
    found = findings(risk, ae, lt, as_of, now, limits)
    code = found[0].status
    shown = [f for f in found if f.status != OK] or found
    if all(f.kind != MARGIN for f in shown):
        shown.append(next(f for f in found if f.kind == MARGIN))
    ratio = risk.margin_ratio
    perf_ratio = "U" if ratio is None else _n(ratio * 100) + "%"
    least = least_liquidation_shock(risk.liquidation_shocks)
    room = headroom_usd(ae.thresholds, prices)
    perf = [
        f"margin_ratio={perf_ratio};{limits.warning.text};{limits.critical.text};0;100",
        f"equity_usd={_n(risk.equity_usd)}",
        f"maint_margin_usd={_n(risk.maint_margin_usd)}",
        f"ltv={'U' if lt.ltv is None else _p(lt.ltv)};{_p(limits.ltv_warn)};{_p(lt.trigger)}",
        f"liq_distance={'U' if least is None else _n(abs(least[0]) * 100) + '%'};"
        f"{_p(limits.liq_warn)}:;{_p(limits.liq_crit)}:;0",
        f"ae_headroom_usd={'U' if room is None else _n(room)}",
    ]
    return code, f"MAMCLI {STATUS[code]} - {'; '.join(f.text for f in shown)} | {' '.join(perf)}"


def worst(codes: list[int]) -> int:
    """The worst status: CRITICAL > UNKNOWN > WARNING > OK."""
    return max(codes, key=SEVERITY.__getitem__, default=OK)


def summary_line(lines: list[tuple[str, int, str]]) -> tuple[int, str]:
    """Several accounts (Monitoring Plugins long output): the worst status and the counts, then one line per
    account, `PATH: ` and its own status line."""
    codes = [code for _, code, _ in lines]
    code = worst(codes)
    counts = ", ".join(f"{codes.count(c)} {STATUS[c].lower()}" for c in (CRITICAL, WARNING, UNKNOWN, OK))
    head = f"MAMCLI {STATUS[code]} - {len(lines)} accounts: {counts}"
    return code, "\n".join([head, *(f"{label}: {line}" for label, _, line in lines)])


def unknown_line(message: str) -> str:
    return f"MAMCLI UNKNOWN - {message}"
