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
from test_sources import KEY, SECRET, recorded, rest  # noqa: F401  (rest: the fake Binance REST fixture)

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


def test_recipes_use_the_installed_path_and_a_live_source():
    lines = block("crontab").strip().splitlines()
    assert len(lines) == 1
    command = lines[0].split(None, 5)[5]
    assert command.startswith(f". $HOME/.mamcli-keys && {INSTALLED} risk --live --fail-on yellow")
    assert f"{INSTALLED} check --live-prices $ARG1$" in block("nagios")
    assert "check_mamcli!/home/me/portfolio.toml!" in block("nagios")
    assert "python3 -m venv .venv && .venv/bin/pip install -q ." in README  # what makes INSTALLED exist


@pytest.mark.parametrize("fail_on, alerted", [("green", True), ("yellow", False)])
def test_cron_recipe(tmp_path, rest, fail_on, alerted):  # noqa: F811
    # the recorded live account (tests/test_sources.py): ratio 54.0054 / 5,049.78 = 1.07 %, green; with
    # --fail-on green any band alerts, so both ways of the recipe run
    url, seen = rest()
    command = installed(block("crontab").strip().split(None, 5)[5])  # drop the five schedule fields
    command = command.replace("--live", f"--live --base-url {url}").replace("--fail-on yellow", f"--fail-on {fail_on}")
    command = command.replace("/tmp/mamcli-risk.txt", str(tmp_path / "out.txt"))
    (tmp_path / ".mamcli-keys").write_text(f"export MAMCLI_API_KEY={KEY}\nexport MAMCLI_API_SECRET={SECRET}\n")
    logger = tmp_path / "logger"  # records what would go to syslog
    logger.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/logged\n')
    logger.chmod(0o755)
    env = {**env_with_mamcli(tmp_path), "HOME": str(tmp_path)}
    env.pop("MAMCLI_API_KEY", None)
    subprocess.run(["/bin/sh", "-c", command], env=env, check=True)
    assert any(h.get("X-MBX-APIKEY") == KEY for _, _, h in seen)  # the key came from ~/.mamcli-keys
    logged = tmp_path / "logged"
    assert logged.exists() == alerted
    if alerted:
        assert logged.read_text() == "-t mamcli margin alert: band                            GREEN\n"


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
def test_nagios_recipe(tmp_path, rest, name, age, code, status):  # noqa: F811
    import json
    import tomllib
    from datetime import UTC, datetime

    text = block("nagios")
    command_line = re.search(r"command_line\s+(.*)", text).group(1)
    args = re.search(r"check_command\s+(.*)", text).group(1).split("!")[1:]
    # Binance as a fake server: today's marks equal the sample's (so its figures are the sample's own) and
    # stamped `age` seconds ago; the asset index is the recorded one (older stamps)
    pf = tomllib.loads(Path(sample(name)).read_text(encoding="utf-8"))
    stamp = int(datetime.now(UTC).timestamp() * 1000) - age * 1000
    marks = [{"symbol": p["symbol"], "markPrice": str(p["mark_price"]), "time": stamp} for p in pf["positions"]]

    def answer(method: str, path: str, n: int) -> tuple[int, bytes]:
        if path == "/fapi/v1/premiumIndex":
            return 200, json.dumps(marks).encode()
        return recorded(method, path, n)

    url, _ = rest(answer)
    args[0] = sample(name)
    for i, value in enumerate(args, 1):
        command_line = command_line.replace(f"$ARG{i}$", value)
    command_line = command_line.replace("--live-prices", f"--live-prices --base-url {url}")
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
