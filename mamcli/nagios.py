"""The Monitoring Plugins contract for `mamcli check` (Nagios, Icinga, Zabbix, Sensu).

Ranges follow the Monitoring Plugins guidelines: `10` alerts outside 0…10, `10:` below 10, `~:10` above
10, `10:20` outside 10…20, `@10:20` inside 10…20 (ends included).  The value is the margin ratio in percent.
"""

from __future__ import annotations

from decimal import Decimal

from mamcli.model import InputError
from mamcli.numbers import D, NumberError, fixed
from mamcli.valuation import Account

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


def status_line(risk: Account, warning: Range, critical: Range) -> tuple[int, str]:
    ratio = risk.margin_ratio
    percent = None if ratio is None else ratio * 100
    code = CRITICAL if critical.alerts(percent) else WARNING if warning.alerts(percent) else OK
    shown = "unbounded" if percent is None else fixed(percent, 2, grouping=False) + "%"
    equity = fixed(risk.equity_usd, 2, grouping=False)
    maint = fixed(risk.maint_margin_usd, 2, grouping=False)
    perf_ratio = "U" if percent is None else shown
    text = (
        f"MAMCLI {STATUS[code]} - margin ratio {shown} ({risk.band}), equity {equity} USD"
        f" | margin_ratio={perf_ratio};{warning.text};{critical.text};0;100"
        f" equity_usd={equity} maint_margin_usd={maint}"
    )
    return code, text


def unknown_line(message: str) -> str:
    return f"MAMCLI UNKNOWN - {message}"
