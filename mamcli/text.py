"""Text that reaches a terminal: one line, no control characters (SPEC §9, §11)."""

from __future__ import annotations


def escape(text: object) -> str:
    """`text` as one printable line: control characters written as escapes (\\n, \\t, \\x1b, \\u2028)."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in s)
