"""README.md, .ci/run and the code say the same thing."""

import re

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
README_PENDING = {"watch"}


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
