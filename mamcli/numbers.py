"""The one door for numbers.

Every number that reaches the engine passes through `D()`: TOML integers, TOML decimals (parsed with
``parse_float=Decimal``) and strings such as ``"0.1"``.  A float is refused outright, so a binary
fraction can never sneak into a balance.  Rounding is always explicit: `q8()` for JSON output
(half-up, 8 places) and `fixed()` for display.
"""

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from functools import wraps
from typing import ParamSpec, TypeVar

# Inputs beyond these bounds are refused: no real balance, price or quantity comes near them, and the
# bounds keep every product and quotient of the engine exact within ENGINE_CONTEXT.
MAX_MAGNITUDE = Decimal("1e15")
MAX_PLACES = 18

# 60 significant digits: inputs have at most 15 + 18 digits, products of two of them stay exact, and
# quotients are rounded far below anything that is displayed (8 places).  Traps turn any surprise into an
# exception rather than a silent NaN.
ENGINE_CONTEXT = Context(
    prec=60, rounding=ROUND_HALF_UP, Emax=999999, Emin=-999999, traps=[InvalidOperation, DivisionByZero, Overflow]
)

# Output rounding gets its own, much wider context: formatting must never fail once output has begun,
# whatever the size of a (valid) liquidation price or ratio.
OUTPUT_CONTEXT = Context(
    prec=2000, rounding=ROUND_HALF_UP, Emax=999999, Emin=-999999, traps=[InvalidOperation, DivisionByZero, Overflow]
)

P = ParamSpec("P")
R = TypeVar("R")


def exact(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` inside ENGINE_CONTEXT, whatever the caller's decimal context."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(ENGINE_CONTEXT):
            return fn(*args, **kwargs)

    return run


ZERO = Decimal(0)
ONE = Decimal(1)
EIGHT_PLACES = Decimal("1e-8")


class NumberError(ValueError):
    """A value that is not an acceptable number; the message says why, without the key."""


def D(value: object) -> Decimal:
    """Turn a TOML or string value into a finite, bounded Decimal, or raise NumberError."""
    if isinstance(value, bool):
        raise NumberError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        if abs(value) >= 10**16:
            raise NumberError("is too large (must be below 1e15 in magnitude)")
        d = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 64:
            raise NumberError("is too long to be a number (more than 64 characters)")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise NumberError(f"expected a number, got the text {value!r}") from None
    elif isinstance(value, float):
        # tomllib is always called with parse_float=Decimal, so this is a programming error.
        raise TypeError("floats are never accepted as money; parse with parse_float=Decimal")
    else:
        raise NumberError(f"expected a number, got {_type_name(value)}")
    if not d.is_finite():
        raise NumberError("must be a finite number (NaN and infinity are not amounts)")
    if d != 0 and d.adjusted() >= 15:
        raise NumberError("is too large (must be below 1e15 in magnitude)")
    if _places(d) > MAX_PLACES:
        raise NumberError(f"has more than {MAX_PLACES} decimal places")
    return d + 0 if d == 0 else d  # folds -0 into 0


def _places(d: Decimal) -> int:
    """Decimal places that carry a significant digit (1.50 has 1, 1e-20 has 20)."""
    _, digits, exponent = d.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:  # 'n', 'N', 'F': not finite (refused earlier)
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def _type_name(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def q8(d: Decimal) -> Decimal:
    """Round half-up to 8 decimal places, the precision of every JSON number mamcli writes."""
    q = d.quantize(EIGHT_PLACES, rounding=ROUND_HALF_UP, context=OUTPUT_CONTEXT)
    return q + 0 if q == 0 else q


def json_number(d: Decimal) -> str:
    """The JSON text of a Decimal: rounded half-up to 8 places, no exponent, no trailing zeros."""
    q = d.quantize(EIGHT_PLACES, rounding=ROUND_HALF_UP, context=OUTPUT_CONTEXT)
    if not q:
        return "0"
    text = format(q, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fixed(d: Decimal, places: int, grouping: bool = True) -> str:
    """Display text of a Decimal with exactly `places` decimals, rounded half-up."""
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=OUTPUT_CONTEXT)
    if q == 0:
        q = abs(q)
    return format(q, ",f" if grouping else "f")


def plain(d: Decimal, max_places: int = 8, grouping: bool = True) -> str:
    """Display text of a Decimal with up to `max_places` decimals, trailing zeros dropped."""
    text = fixed(d, max_places, grouping)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def figure(d: Decimal) -> str:
    """A number in a message, written as the tables write it: 2 decimals with grouping from 100 up
    (`-9,800.00`), up to 8 significant places below (`0.0125`, `-0.5`)."""
    return fixed(d, 2) if abs(d) >= 100 else plain(d, 8)
