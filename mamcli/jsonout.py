"""JSON out: a result record (or dicts, lists, Decimals) written as JSON text, for scripts.

Numbers are written from the Decimal's own digits, rounded half-up to 8 places (`numbers.json_number`), never
through float.  A record is an object whose keys are its fields (`from_` is written `from`; the fields of
`results.OMITTED_WHEN_NONE` are left out when None).  The JSON path imports only this module, not the table
renderer (start-up).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mamcli.model import Record, Rows
from mamcli.numbers import json_number
from mamcli.results import OMITTED_WHEN_NONE

if TYPE_CHECKING:
    from _typeshed import SupportsWrite  # any text stream: a file, console.Sink, batch.OneLine


def is_record(v: object) -> bool:
    return isinstance(v, Record)


def record_items(record: Any) -> Iterator[tuple[str, Any]]:
    """A result record's (JSON key, value) pairs: `from_` is written `from`; optional fields left out when None."""
    for name in record._fields:
        value = getattr(record, name)
        if value is None and name in OMITTED_WHEN_NONE:
            continue
        yield (name[:-1] if name.endswith("_") else name), value


def write_json(value: Any, out: SupportsWrite[str]) -> None:
    """Write the JSON text of a result (indent 2) to `out`, flushing as it goes so a large result is
    streamed rather than built whole in memory."""
    from json.encoder import encode_basestring  # the C string encoder; only on the JSON path

    parts: list[str] = []
    keys: dict[str, str] = {}

    def enc(v: Any, indent: str) -> None:
        if isinstance(v, Decimal):
            parts.append(json_number(v))
        elif v is None:
            parts.append("null")
        elif v is True:
            parts.append("true")
        elif v is False:
            parts.append("false")
        elif isinstance(v, int):
            parts.append(str(v))
        elif isinstance(v, str):
            parts.append(encode_basestring(v))
        elif isinstance(v, dict) or is_record(v):
            pairs = v.items() if isinstance(v, dict) else record_items(v)
            inner = indent + "  "
            sep = "{\n" + inner
            empty = True
            for k, x in pairs:
                empty = False
                text = keys.get(k)
                if text is None:
                    text = keys[k] = encode_basestring(str(k)) + ": "
                parts.append(sep)
                parts.append(text)
                enc(x, inner)
                sep = ",\n" + inner
            parts.append("{}" if empty else "\n" + indent + "}")
        elif isinstance(v, (list, tuple, Rows)):
            if not v:
                parts.append("[]")
                return
            inner = indent + "  "
            sep = "[\n" + inner
            for x in v:
                parts.append(sep)
                enc(x, inner)
                sep = ",\n" + inner
                if len(parts) > 8192:
                    out.write("".join(parts))
                    parts.clear()
            parts.append("\n" + indent + "]")
        else:
            raise TypeError(f"cannot write {type(v).__name__} as JSON")  # a float here is a bug

    enc(value, "")
    parts.append("\n")
    out.write("".join(parts))


def to_json(value: Any) -> str:
    import io

    out = io.StringIO()
    write_json(value, out)
    return out.getvalue()[:-1]
