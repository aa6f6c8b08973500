"""Accounts in, one after another (SPEC §9): where an account comes from, the time of its data, and JSON Lines.

An account command asks `cli.accounts()` for its accounts: a list of `(label, load)` pairs, `load()` giving a
`Loaded` (the portfolio, its source and the time of its data) or raising InputError for that account alone, so
that one bad file in a batch is reported and the others are still computed.  Files are the only source here;
live sources plug into the same list.

Only built-in modules are imported here (datetime is already loaded by tomllib).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from mamcli.model import Portfolio

if TYPE_CHECKING:
    from typing import Protocol

    class TextOut(Protocol):
        """What OneLine writes to: a text stream's write and flush (console.Sink, a file)."""

        def write(self, text: str, /) -> object: ...

        def flush(self) -> None: ...


FILE = "file"

# (portfolio, source: file / live / file+live-prices, time of the data in UTC or None)
Loaded = tuple[Portfolio, str, datetime | None]
Pending = tuple[str, Callable[[], Loaded]]


def file_account(path: str, rules: str | None, tier: str | None) -> Loaded:
    """A portfolio file: source `file`, its data as old as its `[account] as_of` says."""
    from mamcli.portfolio import load_account

    pf, as_of = load_account(path, rules=rules, tier=tier)
    return pf, FILE, as_of


# ---------------------------------------------------------------------------------------------- JSON Lines

# Patterns, not compiled patterns: compiling at import would cost every run ~45 µs for a path few runs take
# (re caches them once used).
_BREAK = r"(,?)\n *"
_TAIL = r",?(\n *)?\Z"


class OneLine:
    """A text stream that puts the indented JSON written through it on one line (`{"a": 1, "b": [2, 3]}`).

    render.write_json indents with a newline and spaces only between tokens, and its strings never hold a
    raw newline (they are escaped), so every newline and the spaces after it are layout: a break after a
    comma becomes one space, any other break nothing.  A chunk may end inside a break: its tail waits for
    the next chunk.  `end()` writes the line's own newline."""

    def __init__(self, out: TextOut):
        self.out = out
        self.held = ""

    def write(self, text: str) -> int:
        text = self.held + text
        tail = re.search(_TAIL, text)
        cut = tail.start() if tail else len(text)
        self.held = text[cut:]
        self.out.write(re.sub(_BREAK, lambda m: ", " if m.group(1) else "", text[:cut]))
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def end(self) -> None:
        rest = re.sub(_BREAK, lambda m: ", " if m.group(1) else "", self.held).rstrip(" ")
        self.held = ""
        self.out.write(rest + "\n")
