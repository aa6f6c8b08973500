"""Account options go before or after the command name, with the same result (SPEC §12)."""

import pytest
from click.testing import CliRunner
from conftest import sample

from mamcli.cli import main

HEDGED = sample("hedged.toml")


def invoke(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["risk", HEDGED, "--json"], ["--shock", "BTC=-20%", "--rules", "seed", "--tier", "vip"]),
        (["equity", HEDGED], ["--price", "BTC=50000"]),
        (["autoexchange", HEDGED, "--json"], ["--tier", "regular", "--shock", "ETH=+5%"]),
        (["stress", HEDGED, "--shock-range", "BTC:-50%:+10%", "--json"], ["--rules", "seed"]),
        (["check", HEDGED], ["--shock", "BTC=-30%"]),
    ],
)
def test_options_before_or_after_the_command(command, options):
    before = invoke(*options, *command)
    after = invoke(*command, *options)
    assert before.exit_code == after.exit_code and before.exit_code in (0, 1, 2), before.stderr
    assert before.stdout == after.stdout and before.stderr == after.stderr
    assert before.stdout  # something was computed


def test_repeatable_options_add_up_across_the_command_name():
    r = invoke("--price", "BTC=50000", "risk", HEDGED, "--shock", "BTC=-10%", "--json")
    assert r.exit_code in (0, 1), r.stderr
    assert "what-if: BTC index price 50000 instead of 60000 (--price)" in r.stdout
    assert "what-if: BTC shocked -10%: index 45000 instead of 50000" in r.stdout  # the price first, then the shock


@pytest.mark.parametrize("option", [["--rules", "seed"], ["--tier", "regular"]])
def test_a_single_value_option_on_both_sides_is_a_usage_error(option):
    r = invoke(*option, "risk", HEDGED, *option)
    assert r.exit_code == 2 and r.stdout == ""
    assert f"option {option[0]} was given more than once; give it once" in r.stderr


def test_check_reports_a_repeated_option_as_unknown():
    r = invoke("--rules", "seed", "check", HEDGED, "--rules", "binance")
    assert r.exit_code == 3
    assert r.stdout.startswith("MAMCLI UNKNOWN - option --rules was given more than once")
