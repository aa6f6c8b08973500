"""The malformed-payload corpus (tests/corpus/payloads/, written by make_payloads.py): every saved response
is refused by `import --account FILE` with one line per problem naming the file, never a traceback; plus the
payloads too large to commit (/dev/zero, a file one byte over 64 MiB), which must end quickly in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mamcli.cli import main

CORPUS = Path(__file__).parent / "corpus" / "payloads"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
ROOT = Path(__file__).parent.parent


def refused(path: Path | str, message: str) -> None:
    r = CliRunner().invoke(main, ["import", "--account", str(path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert (r.exit_code, r.stdout) == (2, ""), (r.exit_code, r.stdout)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"mamcli: error: {path}: ") and message in lines[0], lines[0]
    assert all(line.startswith("mamcli: error: ") and line.isprintable() for line in lines)


def test_the_corpus_is_complete():
    assert sorted(p.stem for p in CORPUS.glob("*.json")) == sorted(CASES) and len(CASES) >= 25


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_case(name):
    refused(CORPUS / f"{name}.json", CASES[name]["message"])


def test_a_file_one_byte_over_the_cap(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(64 * 1024 * 1024 + 1)  # sparse: costs no disk
    refused(path, "larger than 64 MiB, the most mamcli reads; not a Binance response")


def test_a_file_exactly_at_the_cap_is_read(tmp_path):
    path = tmp_path / "spaces.json"
    path.write_bytes(b"[]" + b" " * (64 * 1024 * 1024 - 2))
    refused(path, "does not look like GET /fapi/v2/account")  # read and parsed: the cap is inclusive


def test_a_directory_and_a_missing_file(tmp_path):
    refused(tmp_path, "is a directory; expected a Binance response")
    refused(tmp_path / "nope.json", "no such file")


def test_a_file_name_with_control_characters_is_escaped(tmp_path):
    path = tmp_path / "a\nb\x1b[31m.json"
    path.write_bytes(b"NaN")
    r = CliRunner().invoke(main, ["import", "--account", str(path)])
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and "\x1b" not in r.stderr
    assert "a\\nb\\x1b[31m.json: NaN is not a number" in r.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_ends_with_an_input_error_in_bounded_memory():
    """The issue saw 2.7 GB in 3 s. Run as the only child of this process's newest child, so that its peak RSS
    is measured alone (RUSAGE_CHILDREN of a fresh probe)."""
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-m', 'mamcli', 'import', '--account', '/dev/zero'],"
        " capture_output=True, text=True)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
        "sys.stderr.write(r.stderr + r.stdout)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    code, peak_mb = map(int, r.stdout.split())
    assert code == 2 and r.stderr == (
        "mamcli: error: /dev/zero: larger than 64 MiB, the most mamcli reads; not a Binance response\n"
    )
    assert peak_mb < 200, peak_mb  # 64 MiB read, then refused
