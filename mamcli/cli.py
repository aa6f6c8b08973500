"""The command line: one Click group, thin commands, one error path.

Exit codes (SPEC §4): 0 computed and fine; 1 computed and in the state the command warns about (the full
output is still printed); 2 usage or input error (lines on stderr, nothing on stdout, never a traceback).
This is the only module that imports click.  Engine, loader and renderer are imported inside the
commands so that `mamcli --help` stays cheap.
"""
from __future__ import annotations

import os
import sys

import click

INPUT_ERROR = 2


class InputFailure(click.ClickException):
    """Bad input: each problem on its own stderr line, exit 2."""

    exit_code = INPUT_ERROR

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def show(self, file=None) -> None:
        for line in self.problems:
            click.echo(f"mamcli: error: {line}", err=True)


class Options:
    def __init__(self, rules: str | None):
        self.rules = rules


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mamcli", prog_name="mamcli", message="%(prog)s %(version)s")
@click.option("--rules", metavar="NAME|PATH",
              help="Rules profile: a shipped name (seed, binance-2025) or a TOML file. "
                   "Overrides [account] rules.")
@click.pass_context
def main(ctx: click.Context, rules: str | None) -> None:
    """Exact Binance USD-M Multi-Assets margin arithmetic for a portfolio file.

    PORTFOLIO is a TOML file (see README.md) or - for standard input. Exit status: 0 fine, 1 the
    account is in the state the command warns about, 2 usage or input error.
    """
    ctx.obj = Options(rules)


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def run(ctx: click.Context, portfolio: str, as_json: bool, compute, alert) -> None:
    """Load, compute, print, exit: the whole life of every command."""
    from mamcli.portfolio import InputError, load_portfolio
    from mamcli.render import render

    source = "<stdin>" if portfolio == "-" else portfolio
    try:
        pf = load_portfolio(portfolio, rules=ctx.obj.rules)
        result = compute(pf)
    except InputError as e:
        raise InputFailure(e.problems) from None
    except ArithmeticError as e:
        raise InputFailure([f"{source}: numbers too large or too small to compute exactly "
                            f"({type(e).__name__})"]) from None
    click.echo(render(result, as_json, colour=_colour() and not as_json, source=source))
    ctx.exit(1 if alert(result) else 0)


def portfolio_command(name: str):
    """A subcommand taking PORTFOLIO and --json, the same everywhere."""
    def decorate(fn):
        fn = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")(fn)
        fn = click.argument("portfolio", metavar="PORTFOLIO")(fn)
        fn = click.pass_context(fn)
        return main.command(name)(fn)
    return decorate


@portfolio_command("equity")
def equity_cmd(ctx, portfolio, as_json):
    """Collateral after haircuts, initial margin and what is available for new orders."""
    from mamcli import engine

    run(ctx, portfolio, as_json, engine.equity, lambda r: False)


@portfolio_command("risk")
@click.option("--fail-on", type=click.Choice(["green", "yellow", "red", "liquidation"]), default="red",
              show_default=True, help="Exit 1 when the band is at or beyond this one.")
def risk_cmd(ctx, portfolio, as_json, fail_on):
    """Maintenance margin, margin ratio and band; exit 1 at or beyond --fail-on."""
    from mamcli import engine

    run(ctx, portfolio, as_json, engine.risk,
        lambda r: engine.band_rank(r["band"]) >= engine.band_rank(fail_on))


@portfolio_command("ltv")
def ltv_cmd(ctx, portfolio, as_json):
    """Loan-to-value of the wallet balances; exit 1 when the idle-account LTV trigger is reached."""
    from mamcli import engine

    run(ctx, portfolio, as_json, engine.ltv, lambda r: r["triggered"])


@portfolio_command("autoexchange")
@click.option("--what-if", is_flag=True, help="Show the cover plan for every negative balance even when "
                                              "nothing triggers yet.")
def autoexchange_cmd(ctx, portfolio, as_json, what_if):
    """Whether auto-exchange fires, what it sells and what that costs; exit 1 when it fires."""
    from mamcli import engine

    run(ctx, portfolio, as_json, lambda pf: engine.autoexchange(pf, what_if=what_if), lambda r: r["triggered"])


@portfolio_command("switch-check")
@click.option("--to", "to", type=click.Choice(["multi-asset", "single-asset"]), default=None,
              help="Target mode (default: the other mode).")
def switch_cmd(ctx, portfolio, as_json, to):
    """Whether Binance would let the account switch mode, and the account before and after."""
    from mamcli import engine

    run(ctx, portfolio, as_json, lambda pf: engine.switch_check(pf, to), lambda r: not r["allowed"])
