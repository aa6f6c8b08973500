"""Writing files without losing anything: atomically, and never over an existing file unless forced."""

from __future__ import annotations

import os
import sys
import tempfile

from mamcli.model import InputError


def write_text(path: str, text: str, force: bool = False) -> None:
    """Write `text` to `path` ('-' is stdout) via a temporary file in the same folder and a rename.

    Without `force` an existing file is refused, and a file that appears meanwhile is not overwritten
    (the rename is a hard link, which fails if the name exists).
    """
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if os.path.isdir(path):
        raise InputError([f"{path}: is a directory; give a file name"])
    if os.path.lexists(path) and not force:
        raise InputError([f"{path}: already exists; use --force to overwrite it"])
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mamcli-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise InputError([f"{path}: cannot write there ({e.strerror or e})"]) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise InputError([f"{path}: already exists; use --force to overwrite it"]) from None
            except OSError:  # a file system without hard links: check, then rename
                if os.path.lexists(path):
                    raise InputError([f"{path}: already exists; use --force to overwrite it"]) from None
                os.replace(tmp, path)
    except OSError as e:
        raise InputError([f"{path}: cannot write ({e.strerror or e})"]) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
