"""The malformed-input corpus (tests/corpus/, written by make_corpus.py): every file, every command that
reads a portfolio, the exit code and message of cases.toml, and never a traceback."""

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mamcli.cli import main

CORPUS = Path(__file__).parent / "corpus"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))


def check(path: Path, code: int, message: str, command: str = "equity"):
    r = CliRunner().invoke(main, [command, str(path), "--json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if code == 2:
        assert (r.exit_code, r.stdout) == (2, ""), r.stdout
        assert message in r.stderr, r.stderr
        assert all(line.startswith(f"mamcli: error: {path}") for line in r.stderr.splitlines())
    else:
        assert r.exit_code == code, r.stderr
        json.loads(r.stdout)
        assert message in r.stdout


def test_the_corpus_has_at_least_40_files():
    files = sorted(p.stem for p in CORPUS.glob("*.toml") if p.name != "cases.toml")
    assert files == sorted(CASES) and len(files) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name):
    case = CASES[name]
    check(CORPUS / f"{name}.toml", case["exit"], case["message"])


@pytest.mark.parametrize("command", ["risk", "ltv", "autoexchange", "switch-check"])
@pytest.mark.parametrize("name", [n for n in sorted(CASES) if CASES[n]["exit"] == 2])
def test_every_command_refuses_the_same(name, command):
    r = CliRunner().invoke(main, [command, str(CORPUS / f"{name}.toml")])
    assert (r.exit_code, r.stdout) == (2, "") and CASES[name]["message"] in r.stderr


def test_a_20_mb_file(tmp_path):
    path = tmp_path / "big.toml"
    filler = "# " + "x" * 98 + "\n"
    path.write_text("[assets.USDT]\nbalance = 1\nprice = 1\n" + filler * 200_000 + "haircutt = 0\n")
    assert path.stat().st_size > 20_000_000
    check(path, 2, "assets.USDT.haircutt: unknown key (did you mean 'haircut'?)")
