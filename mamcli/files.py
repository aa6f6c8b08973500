"""Writing files without losing anything (SPEC §11): atomically, never over an existing file unless forced,
and never over anything but a regular file.

- A new file is written to a temporary file in the same folder, then hard-linked into place (which fails if
  the name appeared meanwhile) and gets the usual permissions (0666 less the umask).
- An existing regular file is replaced only with `force`, by a rename over it; it keeps its permission bits
  (and, where allowed, its owner).  A symbolic link to a regular file is kept and its target replaced.
- A FIFO, device, socket, directory or a link to one (`/proc/self/fd/1`) is refused, even with `force`.
- The temporary file is removed on every way out: an error, or SIGINT/SIGTERM (which console.py turns into
  an exception).  Signals are held while the temporary file is created so none lands between its creation
  and the `try` that removes it.

For tests only: with MAMCLI_TEST_HOLD_WRITE set, a write stops after the temporary file is complete and
before the rename, until a signal arrives, so that a test can interrupt a write without a timing race.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat

from mamcli.model import InputError

_HELD = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _existing(path: str, force: bool) -> tuple[str, os.stat_result | None]:
    """(the file to write, its status if it exists); refuses what may not be replaced."""
    try:
        st = os.stat(path)  # through a symbolic link, to what would really be written
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError([f"{path}: is a symbolic link to nothing; mamcli replaces only regular files"]) from None
        return path, None
    except OSError as e:
        raise InputError([f"{path}: cannot write there ({e.strerror or e})"]) from None
    kind = _kind(st.st_mode)
    if kind == "a directory":
        raise InputError([f"{path}: is a directory; give a file name"])
    if kind is not None:
        raise InputError([f"{path}: is {kind}; mamcli replaces only regular files, even with --force"])
    if not force:
        raise InputError([f"{path}: already exists; use --force to overwrite it"])
    return (os.path.realpath(path) if os.path.islink(path) else path), st


def _hold() -> bool:
    if not hasattr(signal, "pthread_sigmask"):
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    return True


def _release(held: bool) -> None:
    if held:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def write_text(path: str, text: str, force: bool = False) -> None:
    """Write `text` as UTF-8 to `path` ('-' is standard output) through a temporary file and a rename."""
    if path == "-":
        from mamcli.console import UTF8

        UTF8.write(text)
        UTF8.flush()
        return
    target, old = _existing(path, force)
    folder = os.path.dirname(os.path.abspath(target))
    data = text.encode("utf-8")
    import tempfile  # only on the file-writing path

    tmp: str | None = None
    try:
        held = _hold()
        try:
            fd, tmp = tempfile.mkstemp(prefix=".mamcli-", suffix=".tmp", dir=folder)
        except OSError as e:
            raise InputError([f"{path}: cannot write there ({e.strerror or e})"]) from None
        finally:
            _release(held)  # a signal that came meanwhile is raised here, inside the `try` that cleans up
        with os.fdopen(fd, "wb") as f:
            if old is None:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(f.fileno(), 0o666 & ~umask)
            else:
                if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                    with contextlib.suppress(OSError):  # not allowed: ours, with the same permission bits
                        os.fchown(f.fileno(), old.st_uid, old.st_gid)
                os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.environ.get("MAMCLI_TEST_HOLD_WRITE"):
            signal.pause()
        if old is not None:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise InputError([f"{path}: already exists; use --force to overwrite it"]) from None
            except OSError:  # a file system without hard links: check, then rename
                if os.path.lexists(target):
                    raise InputError([f"{path}: already exists; use --force to overwrite it"]) from None
                os.replace(tmp, target)
    except OSError as e:
        raise InputError([f"{path}: cannot write ({e.strerror or e})"]) from None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
