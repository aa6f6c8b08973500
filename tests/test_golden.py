"""Golden outputs: every sample × account command × {table, JSON}, recorded whole in tests/golden/.

Each file in tests/golden/ is one case (black's tests/data/cases style: adding a case is adding a file):

    mamcli risk samples/hedged.toml --json      <- the command line, run from the repository root
    exit 1                                      <- the exit code
    --- stdout
    …every line the command printed on stdout…
    --- stderr
    …and on stderr…

The command runs in-process with COLUMNS=200 and NO_COLOR=1.  The test compares; it never writes.  To
record a new case, create a file holding only its first line and run

    MAMCLI_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

which rewrites every golden file from the current output (then read the diff before committing it: a
golden file was checked by hand once, so a change in it is a change in behaviour).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from mamcli.cli import main

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("MAMCLI_REGEN_GOLDEN") == "1"
CASES = sorted(GOLDEN.glob("*.golden"))


def render(command: str, code: int, stdout: str, stderr: str) -> str:
    return f"{command}\nexit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"


def run(command: str, monkeypatch: pytest.MonkeyPatch) -> str:
    argv = shlex.split(command)
    assert argv[0] == "mamcli", f"a golden case starts with its mamcli command line, got {command!r}"
    monkeypatch.chdir(ROOT)
    for name in ("MAMCLI_PORTFOLIO", "MAMCLI_API_KEY", "MAMCLI_API_SECRET", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    r = CliRunner().invoke(main, argv[1:], env={"COLUMNS": "200", "NO_COLOR": "1"}, prog_name="mamcli")
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exc_info
    return render(command, r.exit_code, r.stdout, r.stderr)


def test_every_sample_has_its_golden_cases():
    commands = ("equity", "risk", "risk-compare", "ltv", "autoexchange", "switch-check")
    names = {p.name for p in CASES}
    for sample in sorted((ROOT / "samples").glob("*.toml")):
        for command in commands:
            for form in ("table", "json"):
                assert f"{sample.stem}.{command}.{form}.golden" in names, (sample.name, command, form)
        assert any(n.startswith(f"{sample.stem}.stress.") for n in names), sample.name


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = path.read_text(encoding="utf-8")
    command = recorded.splitlines()[0]
    actual = run(command, monkeypatch)
    if REGEN:
        if actual != recorded:
            path.write_text(actual, encoding="utf-8")
        return
    assert "\n--- stdout\n" in recorded, f"{path.name}: not recorded yet; run with MAMCLI_REGEN_GOLDEN=1"
    assert actual == recorded, f"{path.name}: output differs from the golden file (MAMCLI_REGEN_GOLDEN=1 rewrites it)"
