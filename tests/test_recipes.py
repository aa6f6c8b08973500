"""The README's recipes, run as written (paths and the alert command swapped for test doubles)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, sample

from mamcli.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def block(lang: str) -> str:
    return re.search(rf"```{lang}\n(.*?)```", README, re.S).group(1)


def env_with_mamcli(tmp_path) -> dict:
    if not (BIN / "mamcli").exists():
        pytest.skip("mamcli is not installed beside this Python")
    return {**os.environ, "PATH": f"{tmp_path}:{BIN}:{os.environ['PATH']}"}


INSTALLED = "/home/me/mamcli/.venv/bin/mamcli"  # the README's clone, after its install line


def installed(command: str) -> str:
    """The README's path to mamcli, as the install line leaves it, pointed at this checkout's venv."""
    assert INSTALLED in command
    return command.replace(INSTALLED, str(BIN / "mamcli"))


def test_recipes_use_the_installed_path_and_a_refreshed_file():
    lines = block("crontab").strip().splitlines()
    refresh = lines[1].split(None, 5)[5]
    assert refresh.startswith(f". $HOME/.mamcli-keys && {INSTALLED} import --live -o /home/me/portfolio.toml --force")
    assert lines[0] == "MAMCLI_PORTFOLIO=/home/me/portfolio.toml"
    assert INSTALLED in block("nagios") and "check_mamcli!/home/me/portfolio.toml!" in block("nagios")
    assert "python3 -m venv .venv && .venv/bin/pip install -q ." in README  # what makes INSTALLED exist


@pytest.mark.parametrize("name, alerted", [("red-band.toml", True), ("hedged.toml", False)])
def test_cron_recipe(tmp_path, name, alerted):
    lines = block("crontab").strip().splitlines()
    assert lines[0].startswith("MAMCLI_PORTFOLIO=")
    command = installed(lines[2].split(None, 5)[5])  # drop the five schedule fields
    command = command.replace("/tmp/mamcli-risk.txt", str(tmp_path / "out.txt"))
    logger = tmp_path / "logger"  # records what would go to syslog
    logger.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/logged\n')
    logger.chmod(0o755)
    env = {**env_with_mamcli(tmp_path), "MAMCLI_PORTFOLIO": sample(name)}
    subprocess.run(["/bin/sh", "-c", command], env=env, check=True)
    logged = tmp_path / "logged"
    assert logged.exists() == alerted
    if alerted:
        assert logged.read_text() == "-t mamcli margin alert: band                              RED\n"


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_jq_recipe(tmp_path):
    command = next(b for b in re.findall(r"```sh\n(.*?)```", README, re.S) if "| jq" in b).strip()
    assert command.startswith("mamcli risk samples/hedged.toml --json | jq")
    out = subprocess.run(
        command, shell=True, cwd=ROOT, env=env_with_mamcli(tmp_path), capture_output=True, text=True, check=True
    ).stdout
    # by hand in tests/test_liquidation.py and the issue notes: 3,830.383 / 0.14710996 and 11,041.8191 / 2.0132013
    assert out == "BTCUSDT long liquidates at 26037.55041467\nETHUSDT short liquidates at 5484.70691927\n"


@pytest.mark.parametrize(
    "name, age, code, status",
    [
        ("hedged.toml", 10, 0, "OK - margin ratio "),
        ("red-band.toml", 10, 2, "CRITICAL - margin ratio "),
        ("hedged.toml", 3600, 3, "UNKNOWN - data 36"),  # the refresh stopped: 3600 s and the run's own time
    ],
)
def test_nagios_recipe(tmp_path, name, age, code, status):
    from datetime import UTC, datetime, timedelta

    text = block("nagios")
    command_line = re.search(r"command_line\s+(.*)", text).group(1)
    args = re.search(r"check_command\s+(.*)", text).group(1).split("!")[1:]
    # the portfolio as the refresh job leaves it: stamped with the time of its data
    as_of = (datetime.now(UTC) - timedelta(seconds=age)).replace(microsecond=0)
    portfolio = tmp_path / "portfolio.toml"
    body = Path(sample(name)).read_text(encoding="utf-8")
    assert body.count("[account]\n") == 1
    portfolio.write_text(body.replace("[account]\n", f"[account]\nas_of = {as_of.isoformat()}\n"))
    args[0] = str(portfolio)
    for i, value in enumerate(args, 1):
        command_line = command_line.replace(f"$ARG{i}$", value)
    r = subprocess.run(
        installed(command_line), shell=True, env=env_with_mamcli(tmp_path), capture_output=True, text=True
    )
    assert r.returncode == code, r.stdout
    assert r.stdout.startswith(f"MAMCLI {status}") and "| margin_ratio=" in r.stdout
    assert ("s old, older than --max-age 300;" in r.stdout) == (code == 3)


def test_shell_completion_as_documented():
    assert '_MAMCLI_COMPLETE=bash_source mamcli' in README
    r = CliRunner().invoke(main, [], env={"_MAMCLI_COMPLETE": "bash_source"}, prog_name="mamcli")
    assert r.exit_code == 0 and "_mamcli_completion" in r.stdout
