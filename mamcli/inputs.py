"""The one door through which input files come in: a portfolio or rules TOML, a saved Binance response.

Whatever the path names (a missing file, a directory, `/dev/zero`, standard input that is closed), the caller
gets the bytes, at most `cap` of them, or an InputError of one line naming the file and what is wrong.
"""

from __future__ import annotations

import sys

from mamcli.model import InputError
from mamcli.text import escape


def read_input(path: str, label: str, cap: int, expected: str) -> bytes:
    """At most `cap` bytes of `path` ('-' is standard input); `expected` names what the file should be."""
    name = escape(label)
    try:
        if path == "-":
            data = sys.stdin.buffer.read(cap + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(cap + 1)
    except FileNotFoundError:
        raise InputError([f"{name}: no such file"]) from None
    except IsADirectoryError:
        raise InputError([f"{name}: is a directory; expected {expected}"]) from None
    except PermissionError:
        raise InputError([f"{name}: cannot be read (permission denied)"]) from None
    except OSError as err:
        raise InputError([f"{name}: cannot be read ({escape(err.strerror or err)})"]) from None
    except ValueError:  # a NUL in the name
        raise InputError([f"{name}: not a usable file name"]) from None
    if len(data) > cap:
        raise InputError([f"{name}: larger than {cap // 2**20} MiB, the most mamcli reads; not {expected}"])
    return data
