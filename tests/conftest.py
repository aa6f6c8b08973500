import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mamcli.portfolio import load_portfolio

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture
def write(tmp_path):
    """write(text, name="p.toml") -> path of a dedented TOML file in tmp_path."""

    def _write(text: str, name: str = "p.toml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def load(write):
    """load(text, rules=None) -> Portfolio parsed from dedented TOML."""

    def _load(text: str, rules=None):
        return load_portfolio(write(text), rules=rules)

    return _load


def sample(name: str) -> str:
    return str(SAMPLES / name)


def r8(x) -> Decimal:
    """Round half-up (ties away from zero) to 8 places: how SPEC §4 says every JSON number is written.

    Written here with integer arithmetic, independently of mamcli.numbers (a helper that rounded with the
    program's own function would hide a change of rounding mode): scale by 10^8, split off the fraction,
    and round the magnitude up when the fraction is one half or more.
    """
    d = Decimal(x) if not isinstance(x, Decimal) else x
    sign, digits, exponent = d.as_tuple()
    magnitude = int("".join(map(str, digits)) or "0")
    shift = exponent + 8  # magnitude × 10^shift = |d| × 10^8
    if shift >= 0:
        units = magnitude * 10**shift
    else:
        units, rest = divmod(magnitude, 10**-shift)
        if 2 * rest >= 10**-shift:  # the fraction is at least one half: away from zero
            units += 1
    return Decimal((sign if units else 0, tuple(int(c) for c in str(units)), -8))  # exact: no context rounding


def div(a, b) -> Decimal:
    """a / b at the engine's precision (60 digits), for expectations worked out by hand."""
    from decimal import localcontext

    from mamcli.numbers import ENGINE_CONTEXT

    with localcontext(ENGINE_CONTEXT):
        return Decimal(a) / Decimal(b)
