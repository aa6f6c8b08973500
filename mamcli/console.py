"""The one door between mamcli and its process (SPEC §11): standard output and error, signals, and the one
place where a failure to read or write a standard stream ends a run.

- `TEXT` and `UTF8` are the two output sinks.  TEXT is for a person (tables, help, the check line): written in
  the stream's encoding, with ASCII stand-ins for what that encoding cannot carry (`-` for `—`, `#` for `█`,
  `.` for `·`).  UTF8 is for files and programs (JSON, TOML): always UTF-8 bytes, whatever the locale.
- `message()` writes one line to standard error with its control characters escaped (`text.escape`), so a
  file name or symbol holding a newline or an escape sequence never breaks the one-line-per-problem rule.
- `run()` wraps a whole command: a write to standard output that fails (`/dev/full`, a closed stdout) or a read
  of a closed standard input is one line and exit 2 (or what `on_failure` says: `check` reports UNKNOWN, 3);
  SIGINT is `mamcli: interrupted` and exit 130, SIGTERM exit 143, SIGHUP exit 129, each raised as an exception
  so that every `finally` (the temporary file of an atomic write) runs first.  A reader that goes away
  (`| head`) ends the process by SIGPIPE, as it ends `cat`.

Only built-in modules are imported here: this runs on every command.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from mamcli.text import escape

if TYPE_CHECKING:
    import signal
else:
    try:  # the C module: `signal` itself builds enums of every signal and handler on import (~0.4 ms a run)
        import _signal as signal
    except ImportError:  # pragma: no cover - other interpreters
        import signal

FAILURE = 2


class StreamFailure(Exception):
    """A standard stream cannot be read or written: one line, and the run ends (exit 2, `check`: 3)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Interrupted(BaseException):
    """A signal asked the run to stop.  A BaseException, so only `run()` catches it and `finally` blocks run."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


_CLOSED = os.strerror(errno.EBADF)

# ---------------------------------------------------------------------------------------------- encoding

# What an encoding that cannot carry a character shows instead (SPEC §11).  Anything else becomes a
# backslash escape (\xe9, \u20ac), so a file name is still told apart from another.
STAND_INS = {
    "—": "-",
    "–": "-",
    "−": "-",
    "‐": "-",
    "·": ".",
    "•": "*",
    "█": "#",
    "▉": "+",
    "▊": "+",
    "▋": "+",
    "▌": "+",
    "▍": "+",
    "▎": "+",
    "▏": "+",
    "░": ".",
    "▒": ":",
    "▓": "#",
    "─": "-",
    "━": "-",
    "═": "=",
    "│": "|",
    "┃": "|",
    "║": "|",
    "┌": "+",
    "┐": "+",
    "└": "+",
    "┘": "+",
    "├": "+",
    "┤": "+",
    "┬": "+",
    "┴": "+",
    "┼": "+",
    "…": "...",
    "±": "+/-",
    "×": "x",
    "÷": "/",
    "→": "->",
    "←": "<-",
    "↑": "^",
    "↓": "v",
    "≤": "<=",
    "≥": ">=",
    "≈": "~",
    "≠": "!=",
    "∞": "inf",
    "✓": "ok",
    "✔": "ok",
    "✗": "x",
    "✘": "x",
    "⚠": "!",
    "Ⓢ": "(S)",
    "Ⓘ": "(I)",
    "Ⓜ": "(M)",
    "§": "S",
    "°": "deg",
    "µ": "u",
    "²": "^2",
    "Σ": "sum",
    "δ": "d",
    "ε": "e",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "«": '"',
    "»": '"',
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}

_HANDLER = "mamcli-stand-in"
_registered = False


def _stand_in(e: UnicodeError) -> tuple[str, int]:
    if not isinstance(e, UnicodeEncodeError):
        raise e
    chunk = e.object[e.start : e.end]
    out = "".join(STAND_INS.get(c) or c.encode("ascii", "backslashreplace").decode("ascii") for c in chunk)
    return out, e.end


def fit(text: str, encoding: str | None) -> str:
    """`text` as the encoding can carry it: unchanged when it can, with ASCII stand-ins where it cannot."""
    if not encoding or encoding.lower().replace("-", "").replace("_", "") == "utf8" or text.isascii():
        return text
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    except LookupError:  # an encoding Python does not know: ASCII is safe everywhere
        encoding = "ascii"
    global _registered
    if not _registered:
        import codecs  # already loaded by the interpreter; named here for the one use

        codecs.register_error(_HANDLER, _stand_in)
        _registered = True
    return text.encode(encoding, _HANDLER).decode(encoding)


# ---------------------------------------------------------------------------------------------- output


class Sink:
    """A writable text stream onto standard output.  TEXT fits the stream's encoding; UTF8 writes UTF-8 bytes
    underneath the text layer.  An OS error (or no stdout at all) becomes a StreamFailure."""

    def __init__(self, utf8: bool):
        self.utf8 = utf8

    def write(self, text: str) -> int:
        stream = sys.stdout
        if stream is None:
            raise StreamFailure(f"cannot write output: {_CLOSED}")
        try:
            buffer = getattr(stream, "buffer", None) if self.utf8 else None
            if buffer is not None:
                stream.flush()  # what the text layer holds goes first
                buffer.write(text.encode("utf-8"))
            else:
                stream.write(text if self.utf8 else fit(text, getattr(stream, "encoding", None)))
        except OSError as e:
            raise StreamFailure(f"cannot write output: {_reason(e)}") from None
        return len(text)

    def flush(self) -> None:
        flush()

    def isatty(self) -> bool:
        return is_terminal()


TEXT = Sink(utf8=False)
UTF8 = Sink(utf8=True)


def out(text: str) -> None:
    """Text for a person on standard output (no newline added)."""
    TEXT.write(text)


def flush() -> None:
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.flush()
    except OSError as e:
        raise StreamFailure(f"cannot write output: {_reason(e)}") from None


def is_terminal() -> bool:
    stream = sys.stdout
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def message(line: str) -> None:
    """One line on standard error, control characters escaped.  A standard error that cannot be written
    loses the line; the exit status still tells."""
    _emit(escape(line) + "\n")


def _emit(text: str) -> None:
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(fit(text, getattr(stream, "encoding", None)))
        stream.flush()
    except (OSError, ValueError):
        pass


class _Messages:
    """Standard error as a stream for Click's own usage errors: every line escaped on its way out."""

    def write(self, text: str) -> int:
        _emit("\n".join(escape(line) for line in text.split("\n")))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


MESSAGES = _Messages()


# ---------------------------------------------------------------------------------------------- input


class _ClosedInput:
    """Standard input when the process was started without one (`<&-`): any read ends the run."""

    @property
    def buffer(self) -> _ClosedInput:
        return self

    def read(self, *args: object) -> bytes:
        raise StreamFailure(f"cannot read input: {_CLOSED}")

    readline = read

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------- the run

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _on_signal(signum: int, frame: object) -> None:
    for s in _SIGNALS:  # a second signal does not cut the clean-up short
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


def start() -> None:
    """Process-wide set-up, before anything else runs: SIGPIPE as `cat` has it, the stop signals as
    exceptions (unless the parent had them ignored), and a stand-in for a closed standard input."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for s in _SIGNALS:
        if signal.getsignal(s) != signal.SIG_IGN:
            signal.signal(s, _on_signal)
    if sys.stdin is None:
        sys.stdin = _ClosedInput()


def _default_failure(text: str) -> None:
    message(f"mamcli: error: {text}")


_failure: tuple[Callable[[str], None], int] = (_default_failure, FAILURE)


def on_failure(report: Callable[[str], None], status: int) -> None:
    """How a stream failure is reported and the exit status it gets (`check`: an UNKNOWN line, 3)."""
    global _failure
    _failure = (report, status)


def _silence_stdout() -> None:
    """After a failed write, point fd 1 at /dev/null so the interpreter's last flush does not fail again."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _failed(text: str) -> int:
    report, status = _failure
    with contextlib.suppress(StreamFailure):  # `check` could not write its UNKNOWN line either: the status tells
        report(text)
    _silence_stdout()
    return status


def run(body: Callable[[], int]) -> NoReturn:
    """Run `body` (which returns the exit status) as the whole life of the process, then exit."""
    try:
        try:
            code = body()
            flush()
        except StreamFailure as e:
            code = _failed(e.message)
        except OSError as e:  # anything else the operating system refused, named in one line
            what = f"{e.filename}: " if e.filename else ""
            code = _failed(f"{escape(what)}{_reason(e)}")
    except Interrupted as e:
        if e.signum == signal.SIGINT:
            message("mamcli: interrupted")
        code = 128 + e.signum
    sys.exit(code)
