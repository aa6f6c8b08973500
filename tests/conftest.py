import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mamcli.numbers import q8
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
    """Half-up to 8 places: how every JSON number is written."""
    return q8(Decimal(x) if not isinstance(x, Decimal) else x)


def div(a, b) -> Decimal:
    """a / b at the engine's precision (60 digits), for expectations worked out by hand."""
    from decimal import localcontext

    from mamcli.numbers import ENGINE_CONTEXT

    with localcontext(ENGINE_CONTEXT):
        return Decimal(a) / Decimal(b)
