"""SPEC §11, never a traceback, nothing lost: broken standard streams, encodings, signals, special files,
hostile names and repeated options.  Where a real process, signal, FIFO or file mode is involved the test
runs `python -m mamcli` in a subprocess; the rest goes through Click's runner."""

import glob
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest
from click.testing import CliRunner
from conftest import ROOT, sample

from mamcli.cli import main
from mamcli.portfolio import split_symbol as _split

HEDGED = sample("hedged.toml")
RED = sample("red-band.toml")
PAYLOADS = ROOT / "tests" / "payloads"
IMPORT_FILES = [
    "--account",
    str(PAYLOADS / "account_v2.json"),
    "--positions",
    str(PAYLOADS / "positionRisk_v2.json"),
    "--index",
    str(PAYLOADS / "assetIndex.json"),
    "--brackets",
    str(PAYLOADS / "leverageBracket.json"),
]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX streams and signals")


def env(**extra):
    e = {k: v for k, v in os.environ.items() if k not in ("MAMCLI_PORTFOLIO", "PYTHONIOENCODING", "NO_COLOR")}
    e.update(PYTHONPATH=str(ROOT), PYTHONUTF8="1", LC_ALL="C.UTF-8")
    e.update(extra)
    return e


def mamcli(*args, redirect="", env_extra=None, **kw):
    """Run `python -m mamcli ARGS` through sh so a redirection such as `>&-` or `> /dev/full` can be given."""
    cmd = ["sh", "-c", f'exec "$0" -m mamcli "$@" {redirect}', sys.executable, *map(str, args)]
    kw.setdefault("capture_output", True)
    return subprocess.run(cmd, env=env(**(env_extra or {})), **kw)


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


# ------------------------------------------------------------------------------------ standard streams


@POSIX
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_write_to_a_full_device_is_one_line_and_exit_2(extra):
    r = mamcli("risk", HEDGED, *extra, redirect="> /dev/full", capture_output=False, stderr=subprocess.PIPE)
    assert r.returncode == 2
    assert r.stderr == b"mamcli: error: cannot write output: No space left on device\n"


@POSIX
def test_closed_stdout_is_one_line_and_exit_2():
    r = mamcli("risk", HEDGED, redirect=">&-", capture_output=False, stderr=subprocess.PIPE)
    assert r.returncode == 2
    assert r.stderr == b"mamcli: error: cannot write output: Bad file descriptor\n"


@POSIX
def test_closed_stdin_is_one_line_and_exit_2():
    r = mamcli("risk", "-", redirect="<&-")
    assert (r.returncode, r.stdout) == (2, b"")
    assert r.stderr == b"mamcli: error: cannot read input: Bad file descriptor\n"


@POSIX
def test_check_reports_stream_failures_as_unknown():
    r = mamcli("check", "-", redirect="<&-")
    assert r.returncode == 3
    assert r.stdout == b"MAMCLI UNKNOWN - cannot read input: Bad file descriptor\n" and r.stderr == b""
    if os.path.exists("/dev/full"):
        r = mamcli("check", HEDGED, redirect="> /dev/full")
        assert r.returncode == 3 and r.stderr == b""
    r = mamcli("check", HEDGED, redirect=">&-")
    assert r.returncode == 3 and r.stderr == b""


@POSIX
def test_closed_stderr_still_gives_the_exit_status(tmp_path):
    r = mamcli("risk", tmp_path / "missing.toml", redirect="2>&-")
    assert (r.returncode, r.stdout) == (2, b"")


@POSIX
def test_a_reader_that_goes_away_ends_mamcli_by_sigpipe_like_cat(tmp_path):
    # 2,000 positions: JSON far larger than a pipe's buffer, so mamcli is still writing when the reader leaves.
    rows = "".join(
        '[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nquantity = 0.001\nentry_price = 60000\n'
        "mark_price = 60000\nmaint_margin_rate = 0.004\n"
        for _ in range(2000)
    )
    path = tmp_path / "many.toml"
    path.write_text('[assets.USDT]\nbalance = 100000\nprice = 1\n[assets.BTC]\nbalance = 0\nprice = 60000\n' + rows)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mamcli", "risk", str(path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    assert proc.stdout.readline() == b"{\n"  # like `| head -n 1`
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == -signal.SIGPIPE  # what a shell reports as 141, as for `cat`
    assert err == b""


# ------------------------------------------------------------------------------------ encodings

# The stand-ins of SPEC §11, applied by hand to the UTF-8 text: `.` for `·`, `-` for `—`, `#` for `█`, and
# `+` for a partial block.
ASCII = str.maketrans({"·": ".", "—": "-", "█": "#", "▉": "+", "▌": "+", "▋": "+", "▍": "+", "▎": "+"})


@POSIX
@pytest.mark.parametrize(
    "environment",
    [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}],
    ids=["PYTHONIOENCODING=ascii", "LC_ALL=C"],
)
@pytest.mark.parametrize(
    "args", [["risk", HEDGED], ["stress", RED, "--shock-range", "BTC:-50%:+50%", "--steps", "5"], ["--help"]]
)
def test_ascii_output_uses_stand_ins(environment, args):
    utf8 = mamcli(*args)
    ascii_ = mamcli(*args, env_extra=environment)
    assert utf8.returncode in (0, 1) and ascii_.returncode == utf8.returncode, ascii_.stderr
    assert ascii_.stderr == b""
    text = ascii_.stdout.decode("ascii")  # every byte is ASCII
    expected = utf8.stdout.decode("utf-8").translate(ASCII).replace("±", "+/-")
    assert text == expected
    if args[0] == "risk":
        assert text.splitlines()[0] == f"mamcli risk . {HEDGED} . multi-asset . rules binance . tier regular"
        assert "non-stable         -         -" in text  # the `—` of "no liquidation shock"


@POSIX
def test_latin1_keeps_what_it_can_carry():
    r = mamcli("risk", HEDGED, env_extra={"PYTHONIOENCODING": "latin-1"})
    assert r.returncode == 0 and r.stderr == b""
    text = r.stdout.decode("latin-1")
    assert (
        text.splitlines()[0] == f"mamcli risk · {HEDGED} · multi-asset · rules binance · tier regular"
    )  # · is Latin-1
    assert "non-stable         -         -" in text  # — is not


@POSIX
def test_json_is_always_utf8(tmp_path):
    rules = tmp_path / "mine.toml"
    description = "Bücher — «desk» rules"
    rules.write_text(
        f'name = "mine"\ndescription = "{description}"\nltv_trigger = 0.9\n'
        '[bands]\nyellow = 0.5\nred = 0.8\n[[tiers]]\nname = "general"\nthreshold_usd = -100\n',
        encoding="utf-8",
    )
    for environment in ({"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}):
        r = mamcli("rules", rules, "--json", env_extra=environment)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.decode("utf-8"))["profiles"][0]["description"] == description


@POSIX
def test_messages_in_ascii_use_stand_ins_or_escapes(tmp_path):
    r = mamcli("risk", tmp_path / "pörtfolio—1.toml", env_extra={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 2
    assert r.stderr.decode("ascii") == f"mamcli: error: {tmp_path}/p\\xf6rtfolio-1.toml: no such file\n"


# ------------------------------------------------------------------------------------ signals


def wait_for_temp(proc, folder):
    """Wait until the held write has its complete temporary file; this synchronises, it times nothing."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = glob.glob(os.path.join(folder, ".mamcli-*.tmp"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    pytest.fail("the write never started")


HOLD = {"MAMCLI_TEST_HOLD_WRITE": "1"}


@POSIX
@pytest.mark.parametrize(
    "sig, status, stderr", [(signal.SIGINT, 130, b"mamcli: interrupted\n"), (signal.SIGTERM, 143, b"")]
)
def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path, sig, status, stderr):
    target = tmp_path / "p.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mamcli", "init", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(**HOLD),
    )
    tmp = wait_for_temp(proc, tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate()
    assert proc.returncode == status and out == b"" and err == stderr
    assert not os.path.exists(tmp) and os.listdir(tmp_path) == []


@POSIX
def test_sigterm_during_a_forced_import_keeps_the_old_file(tmp_path):
    target = tmp_path / "p.toml"
    target.write_text("mine\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mamcli", "import", *IMPORT_FILES, "-o", str(target), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(**HOLD),
    )
    tmp = wait_for_temp(proc, tmp_path)
    with open(tmp) as f:
        assert f.read().startswith("# Imported by `mamcli import`")  # the whole content was in the temporary file
    proc.send_signal(signal.SIGTERM)
    proc.communicate()
    assert proc.returncode == 143
    assert sorted(os.listdir(tmp_path)) == ["p.toml"] and target.read_text() == "mine\n"


# ------------------------------------------------------------------------------------ writing files


@POSIX
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_fifo_is_never_replaced(tmp_path, force):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = mamcli("import", *IMPORT_FILES, "-o", fifo, *force)
    assert r.returncode == 2 and r.stdout == b""
    assert (
        r.stderr
        == (
            f"mamcli: error: {fifo}: is a FIFO (named pipe); mamcli replaces only regular files, even with --force\n"
        ).encode()
    )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["fifo"]


@POSIX
@pytest.mark.skipif(not os.path.exists("/proc/self/fd/1"), reason="no /proc")
def test_a_link_to_standard_output_is_never_replaced(tmp_path):
    link = tmp_path / "out"
    os.symlink("/proc/self/fd/1", link)
    r = mamcli("init", link, "--force")  # stdout is a pipe here
    assert r.returncode == 2 and r.stdout == b""
    assert b"is a FIFO (named pipe); mamcli replaces only regular files" in r.stderr
    assert os.readlink(link) == "/proc/self/fd/1" and os.listdir(tmp_path) == ["out"]


@POSIX
def test_a_device_a_socket_and_a_directory_are_refused(tmp_path):
    # As root, a device node of our own (a failing test must never replace the system's /dev/null); otherwise
    # /dev/null itself, which a user cannot replace anyway.
    device = "/dev/null"
    if os.geteuid() == 0:
        device = str(tmp_path / "null")
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    r = mamcli("init", device, "--force")
    assert r.returncode == 2 and r.stderr == (
        f"mamcli: error: {device}: is a device; mamcli replaces only regular files, even with --force\n".encode()
    )
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    if device != "/dev/null":
        os.unlink(device)
    folder = tempfile.mkdtemp(prefix="m", dir="/tmp")  # a socket's path must be short
    try:
        path = os.path.join(folder, "s")
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(path)
            r = mamcli("init", path, "--force")
            assert r.returncode == 2 and b"is a socket; mamcli replaces only regular files" in r.stderr
            assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    r = mamcli("init", tmp_path, "--force")
    assert r.returncode == 2 and r.stderr == f"mamcli: error: {tmp_path}: is a directory; give a file name\n".encode()


@POSIX
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_force_keeps_the_permission_bits(tmp_path, mode):
    target = tmp_path / "p.toml"
    target.write_text("mine\n")
    os.chmod(target, mode)
    r = mamcli("import", *IMPORT_FILES, "-o", target, "--force")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    assert target.read_text().startswith("# Imported by `mamcli import`")
    assert os.listdir(tmp_path) == ["p.toml"]


@POSIX
def test_a_new_file_gets_the_umask_permissions(tmp_path):
    target = tmp_path / "p.toml"
    r = mamcli("init", target, redirect="", preexec_fn=lambda: os.umask(0o027))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~0o027  # 0640


@POSIX
def test_force_through_a_symlink_keeps_the_link_and_replaces_its_target(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text("mine\n")
    os.chmod(real, 0o600)
    link = tmp_path / "link.toml"
    os.symlink("real.toml", link)
    assert mamcli("init", link).returncode == 2  # without --force nothing is replaced
    r = mamcli("init", link, "--force")
    assert r.returncode == 0, r.stderr
    assert os.readlink(link) == "real.toml"
    assert real.read_text().startswith("#") and stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["link.toml", "real.toml"]


@POSIX
def test_a_dangling_symlink_is_refused(tmp_path):
    link = tmp_path / "link.toml"
    os.symlink("nowhere.toml", link)
    r = mamcli("init", link, "--force")
    assert r.returncode == 2 and b"is a symbolic link to nothing" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["link.toml"]


# ------------------------------------------------------------------------------------ one line per problem


def test_a_file_name_with_a_newline_and_an_escape_is_one_line(tmp_path):
    name = str(tmp_path / "a\nb\x1b[31m.toml")
    r = invoke("risk", name)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == f"mamcli: error: {tmp_path}/a\\nb\\x1b[31m.toml: no such file\n"


def test_mamcli_portfolio_with_a_newline_is_one_line(tmp_path):
    r = invoke("risk", env={"MAMCLI_PORTFOLIO": f"{tmp_path}/x\ny.toml"})
    assert r.exit_code == 2 and r.stderr == f"mamcli: error: {tmp_path}/x\\ny.toml: no such file\n"


def test_check_unknown_line_is_one_line(tmp_path):
    r = invoke("check", str(tmp_path / "x\ny.toml"))
    assert r.exit_code == 3
    assert r.stdout == f"MAMCLI UNKNOWN - {tmp_path}/x\\ny.toml: no such file\n"


def test_a_symbol_and_an_asset_with_control_characters_are_one_line_each(write):
    path = write(
        '[assets.USDT]\nbalance = 1\nprice = 1\n[assets."X\\u001b[2J"]\nbalance = 1\nprice = 1\n'
        '[[positions]]\nsymbol = "BTC\\nUSDT"\nside = "long"\nquantity = 1\nentry_price = 1\nmark_price = 1\n'
    )
    r = invoke("risk", path)
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert all(line.startswith("mamcli: error: ") and line.isprintable() for line in lines)
    assert any("assets.X\\x1b[2J" in line for line in lines)
    assert any("BTC\\nUSDT" in line for line in lines)


def test_import_notes_are_one_line(tmp_path):
    out = tmp_path / "a\nb.toml"
    r = invoke("import", *IMPORT_FILES, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith(f"mamcli: import: wrote {tmp_path}/a\\nb.toml: equity ") and r.stderr.count("\n") == 1


def test_click_usage_errors_are_escaped_too():
    r = invoke("frob\x1b[2Jnicate")
    assert r.exit_code == 2 and "\x1b" not in r.stderr and "frob\\x1b[2Jnicate" in r.stderr


@POSIX
def test_click_usage_errors_exit_2_without_a_traceback():
    r = mamcli("risk", HEDGED, "--fail-on", "blue")
    assert r.returncode == 2 and r.stdout == b"" and b"Traceback" not in r.stderr and b"Error:" in r.stderr


# ------------------------------------------------------------------------------------ repeated options


@pytest.mark.parametrize(
    "args, option",
    [
        (["stress", HEDGED, "--shock-range", "BTC:-1%:+1%", "--shock-range", "BTC:-9%:+9%"], "--shock-range"),
        (["stress", HEDGED, "--shock-range", "BTC:-1%:+1%", "--steps", "3", "--steps", "5"], "--steps"),
        (["risk", HEDGED, "--fail-on", "red", "--fail-on", "yellow"], "--fail-on"),
        (["--rules", "seed", "--rules", "binance-2025", "risk", HEDGED], "--rules"),
        (["import", *IMPORT_FILES, "--account", str(PAYLOADS / "account_v2.json")], "--account"),
        (["init", "-", "--force", "--force"], None),  # a flag given twice means the same: allowed
    ],
)
def test_a_repeated_single_value_option_is_a_usage_error(args, option):
    r = invoke(*args)
    if option is None:
        assert r.exit_code == 0
        return
    assert r.exit_code == 2 and r.stdout == ""
    assert f"option {option}" in r.stderr and "was given more than once; give it once" in r.stderr


def test_repeatable_options_stay_repeatable():
    r = invoke("--price", "BTC=50000", "--price", "USDT=1", "risk", HEDGED, "--json")
    assert r.exit_code == 0, r.stderr


def test_check_repeated_option_is_unknown():
    r = invoke("check", HEDGED, "-w", "10", "--warning", "20")
    assert r.exit_code == 3
    assert r.stdout == "MAMCLI UNKNOWN - option -w / --warning was given more than once; give it once\n"


# ------------------------------------------------------------------------------------ linear loading


def quadratic_split(symbol, assets):
    """The rule as first written (every asset tried against the symbol): the longest listed asset that ends
    the core of the symbol and is shorter than it."""
    core = symbol.split("_", 1)[0]
    quotes = sorted((a for a in assets if core.endswith(a) and len(core) > len(a)), key=len, reverse=True)
    return (core[: -len(quotes[0])], quotes[0]) if quotes else (None, None)


@pytest.mark.parametrize(
    "symbol",
    ["BTCUSDT", "BTCUSDT_250328", "ETHBTC", "USDTUSDT", "USDT", "T", "BTCUSDC", "XYZ", "1000PEPEUSDT", "BTCDOMUSDT"],
)
def test_splitting_a_symbol_by_suffix_lookup_matches_the_rule(symbol):
    assets = frozenset({"USDT", "USDC", "BTC", "ETH", "T", "DT", "DOMUSDT", "PEPEUSDT", "BTCUSDT"})
    assert _split(symbol, assets) == quadratic_split(symbol, assets)
    # e.g. BTCUSDT: USDT, DT and T all end it; the longest that leaves a base, USDT, is the quote.
    assert _split("BTCUSDT", assets) == ("BTC", "USDT")
