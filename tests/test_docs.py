"""README.md, .ci/run and the code say the same thing."""

import re

import pytest
from conftest import ROOT
from test_cli import COMMANDS, KEYS

from mamcli.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands():
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_setup_commands():
    first, second = setup_commands()
    assert README.index("```sh") < README.index("## ")
    assert "pip install" in first and "mamcli " in first and "samples/" in first
    assert "pip install" in second and "'.[test]'" in second and "pytest" in second


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci


# `watch`'s README section is in the watch branch's report (the brief kept README.md out of that branch): the
# lead adds it at merge and empties this set, so these tests check watch too.
README_PENDING: set[str] = set()


def test_every_command_is_documented():
    assert set(COMMANDS) <= set(main.commands)
    for name in set(main.commands) - README_PENDING:
        assert f"`mamcli {name}" in README, name


EXTRA_KEYS = {
    "risk": {"liquidation_price", "liquidation_shocks", "compare", "layout", "liquidation_prices"},
    "stress": {"asset", "from", "to", "steps", "shock", "autoexchange", "liquidation_shock", "worst_band"},
}


def test_every_json_key_is_documented():
    for command, keys in list(KEYS.items()) + list(EXTRA_KEYS.items()):
        for key in keys | {"command", "mode", "rules", "tier", "assumptions"}:
            assert f"`{key}`" in README or f"`{key}[]`" in README, (command, key)


def test_every_option_is_documented():
    import click

    for command in [main, *(c for n, c in main.commands.items() if n not in README_PENDING)]:
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt not in ("--help", "-h", "--version", "--json"):
                        assert f"`{opt}" in README or f"{opt} " in README, (command.name, opt)


def test_every_sample_is_documented():
    for path in (ROOT / "samples").glob("*.toml"):
        assert f"`samples/{path.name}`" in README, path.name


def test_every_exit_code_is_documented():
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in README


# ------------------------------------------------------------------------------------ README blocks, run for real


def shell_sessions() -> list[tuple[int, list[str]]]:
    """Every fenced block of README.md that shows a `$ mamcli …` session: (line number, its lines)."""
    sessions = []
    lines = README.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].startswith("```"))
            body = lines[start:end]
            if any(line.startswith("$ mamcli ") for line in body):
                sessions.append((start, body))
            i = end
        i += 1
    return sessions


def run_session(body: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """Run each `$ ` line from the repo root; (command, lines shown, lines produced) per command.

    `$ mamcli ARGS` runs this checkout's mamcli (python -m mamcli) with NO_COLOR=1 and COLUMNS=200 on
    stdout and stderr; `$ echo $?` prints the exit code of the command before it.
    """
    import os
    import shlex
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    env.pop("MAMCLI_PORTFOLIO", None)
    out = []
    last_code = None
    for line in body:
        if line.startswith("$ "):
            argv = shlex.split(line[2:])
            if argv == ["echo", "$?"]:
                produced = [str(last_code)]
            else:
                assert argv[0] == "mamcli", f"README shows a command this test cannot run: {line}"
                r = subprocess.run(
                    [sys.executable, "-m", "mamcli", *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True
                )
                last_code = r.returncode
                produced = (r.stdout + r.stderr).splitlines()
            out.append((line, [], produced))
        else:
            assert out, f"README block shows output before any command: {line!r}"
            out[-1][1].append(line)
    return out


def matches(shown: list[str], produced: list[str]) -> bool:
    """Shown lines equal the produced ones exactly, a line `...` standing for any number of lines."""
    if not shown:
        return not produced
    if shown[0] == "...":
        return any(matches(shown[1:], produced[k:]) for k in range(len(produced) + 1))
    return bool(produced) and shown[0] == produced[0] and matches(shown[1:], produced[1:])


def test_readme_has_shell_sessions():
    sessions = shell_sessions()
    assert len(sessions) >= 2  # `mamcli risk` with its exit code, `mamcli check`
    assert any("$ echo $?" in body for _, body in sessions)


@pytest.mark.parametrize("start, body", shell_sessions(), ids=[f"line{start + 1}" for start, _ in shell_sessions()])
def test_readme_session_shows_the_real_output(start, body):
    for command, shown, produced in run_session(body):
        assert matches([s.rstrip() for s in shown], [p.rstrip() for p in produced]), (
            f"README.md line {start + 1}: {command}\n--- shown:\n"
            + "\n".join(shown)
            + "\n--- real:\n"
            + "\n".join(produced)
        )


def test_the_ellipsis_matcher():
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) and matches(["a", "..."], ["a"])
    assert not matches(["a", "d"], ["a", "b", "d"]) and not matches(["a"], ["a", "b"])


def test_readme_jq_comments_show_the_real_value():
    """`mamcli … --json | jq .KEY   # VALUE` lines: the value in the comment is what the command prints."""
    import json
    import os
    import shlex
    import subprocess
    import sys
    from decimal import Decimal

    found = re.findall(r"^(mamcli [^|\n]*--json) \| jq \.(\w+) +# (\S+)$", README, re.M)
    assert found
    for command, key, value in found:
        r = subprocess.run(
            [sys.executable, "-m", "mamcli", *shlex.split(command)[1:]],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
        )
        assert str(json.loads(r.stdout, parse_float=Decimal)[key]) == value, (command, key)
