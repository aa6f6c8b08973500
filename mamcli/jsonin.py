"""The one door for JSON: saved payload files and HTTP bodies alike (SPEC §9 "Network safety", §11).

Every number becomes a Decimal through the number door (`mamcli.numbers.D`), checked as text before any
conversion, so a 5,000-digit integer or `1e99999999999999999999` is an input error, never a ValueError or an
InvalidOperation.  `NaN` and `Infinity` are refused, nesting deeper than MAX_DEPTH is refused before the
(recursive) parser sees it, and nothing larger than MAX_BYTES is read or parsed.  Every failure is an
InputError with one line per problem, `LABEL: what is wrong (where)`, control characters escaped.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import accumulate

from mamcli.model import InputError
from mamcli.numbers import D, NumberError
from mamcli.text import escape

MAX_BYTES = 64 * 1024 * 1024  # 64 MiB: bodies and saved payload files alike
MAX_DEPTH = 100
MAX_EXPONENT = 1000  # beyond this an exponent is only ever "too large" or "too many places"

# A JSON string (escapes included; unrolled so that it stays linear) or one bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Refused(Exception):
    """A number or constant the door refuses; raised from the parser's hooks, located afterwards."""

    def __init__(self, token: str, problem: str) -> None:
        super().__init__(token)
        self.token = token
        self.problem = problem


def _number(text: str) -> Decimal:
    """parse_int and parse_float: the JSON number text, checked before any conversion."""
    if len(text) <= 15 and text.isdigit():  # the common case (ids, timestamps): within D()'s bounds by construction
        return Decimal(text)
    if len(text) > 64:
        raise _Refused(text, "is too long to be a number (more than 64 characters)")
    checked = text
    mantissa, e, exponent = text.lower().partition("e")
    if e and abs(int(exponent)) > MAX_EXPONENT:  # at most 63 characters: int() is safe
        # Decimal would trap on an exponent this size; a stand-in of the same sign gets D()'s own verdict.
        checked = f"{mantissa}e{MAX_EXPONENT + 1 if int(exponent) > 0 else -MAX_EXPONENT - 1}"
    try:
        return D(checked)
    except NumberError as err:
        raise _Refused(text, str(err)) from None


def _constant(name: str) -> object:
    raise _Refused(name, "is not a number mamcli accepts (JSON has no NaN or infinity; they are not amounts)")


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _shown(token: str) -> str:
    if token in ("NaN", "Infinity", "-Infinity"):
        return token
    if len(token) > 24:
        return f"the number {token[:20]}... ({len(token)} characters)"
    return f"the number {token}"


def _locate(text: str, token: str) -> int | None:
    """Offset of the first `token` outside a string that stands alone as a JSON value."""
    pattern = re.compile(
        r'"[^"\\]*(?:\\.[^"\\]*)*"|(?<![0-9A-Za-z.+\-])(' + re.escape(token) + r")(?![0-9A-Za-z.+\-])", re.S
    )
    for m in pattern.finditer(text):
        if m.group(1) is not None:
            return m.start(1)
    return None


def _check_depth(text: str, label: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH without recursion: brackets outside strings, counted."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= MAX_DEPTH:
        return
    depth = 0
    for m in _TOKEN.finditer(text):
        token = m.group()
        if len(token) == 1:
            depth += _STEP[token]
            if depth > MAX_DEPTH:
                raise InputError(
                    [f"{escape(label)}: nesting deeper than {MAX_DEPTH} levels is refused ({_where(text, m.start())})"]
                )
    raise InputError([f"{escape(label)}: nesting deeper than {MAX_DEPTH} levels is refused"])  # pragma: no cover


def too_large(label: str) -> InputError:
    """The error for a body or file over MAX_BYTES (the HTTP client raises it too)."""
    cap = MAX_BYTES // (1024 * 1024)
    return InputError([f"{escape(label)}: larger than {cap} MiB, the most mamcli reads; not a Binance response"])


def parse_json(data: bytes | bytearray, label: str) -> object:
    """The JSON document in `data` with every number a Decimal, or InputError naming `label` and the place."""
    import json

    if len(data) > MAX_BYTES:
        raise too_large(label)
    name = escape(label)
    try:
        text = bytes(data).decode("utf-8-sig") if isinstance(data, bytearray) else data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = bytes(data[: err.start])
        line = before.count(b"\n") + 1
        column = err.start - (before.rfind(b"\n") + 1) + 1
        byte = data[err.start]
        raise InputError(
            [f"{name}: not UTF-8 text (byte 0x{byte:02x} at line {line}, column {column}); expected a JSON response"]
        ) from None
    if not text.strip():
        raise InputError([f"{name}: is empty; expected a JSON response"])
    _check_depth(text, label)
    try:
        return json.loads(text, parse_float=_number, parse_int=_number, parse_constant=_constant)
    except _Refused as err:
        offset = _locate(text, err.token)
        where = f" ({_where(text, offset)})" if offset is not None else ""
        raise InputError([f"{name}: {_shown(err.token)} {err.problem}{where}"]) from None
    except json.JSONDecodeError as err:
        raise InputError([f"{name}: not JSON: {err.msg} (line {err.lineno}, column {err.colno})"]) from None
    except RecursionError:  # belt: the depth check comes first
        raise InputError([f"{name}: nesting deeper than {MAX_DEPTH} levels is refused"]) from None


def read_json_file(path: str, label: str) -> object:
    """A saved JSON response: at most MAX_BYTES + 1 bytes are ever read (`/dev/zero` included)."""
    from mamcli.inputs import read_input

    return parse_json(read_input(path, label, MAX_BYTES, "a Binance response"), label)
