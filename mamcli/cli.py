"""The command line: one Click group, thin commands, one error path.

Exit codes (SPEC §4): 0 computed and fine; 1 computed and in the state the command warns about (the full
output is still printed); 2 usage or input error (lines on stderr, nothing on stdout, never a traceback).
This is the only module that imports click.  Engine, loader and renderer are imported inside the
commands so that `mamcli --help` stays cheap.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, MutableMapping, Sequence
    from decimal import Decimal
    from typing import IO, TypeVar

    from click.parser import _OptionParser
    from click.shell_completion import CompletionItem

    from mamcli.batch import Loaded, Pending
    from mamcli.model import Portfolio, Rules
    from mamcli.netclient import Client
    from mamcli.render import Screen
    from mamcli.results import Result

    Assignments = tuple[tuple[str, Decimal], ...]  # --price / --shock: (asset, value) in the order given
    F = TypeVar("F", bound=Callable[..., Any])
    Factory = Callable[[], Callable[..., Any]]  # a command's callback, made with its parameters attached

    # The mixins below are mixed into click.Command and click.Group: mypy reads them as the Command they
    # extend (so super() and self are typed); at run time they stay plain classes.
    _CommandMixin = click.Command
    _TextParam = click.ParamType[str]
else:
    _CommandMixin = object
    _TextParam = click.ParamType

INPUT_ERROR = 2


class InputFailure(click.ClickException):
    """Bad input: each problem on its own stderr line, exit 2."""

    exit_code = INPUT_ERROR

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def show(self, file: IO[Any] | None = None) -> None:
        from mamcli.console import message

        for line in self.problems:
            message(f"mamcli: error: {line}")


class Options:
    """The account options of one run, gathered from both sides of the command name."""

    def __init__(
        self, rules: str | None = None, prices: Assignments = (), shocks: Assignments = (), tier: str | None = None
    ) -> None:
        self.rules = rules
        self.tier = tier
        self.prices = prices
        self.shocks = shocks
        self.live = False  # --live: the signed account itself (SPEC §9)
        self.live_prices = False  # --live-prices: a file's balances and positions, today's marks and prices
        self.base_url: str | None = None
        self.ws_url: str | None = None
        self.timeout: str | None = None
        self.clients: dict[bool, Client] = {}  # the run's network clients (signed or not), made when first needed


def _decimal(text: str, what: str) -> Decimal:
    from mamcli.numbers import D, NumberError

    try:
        return D(text)
    except NumberError as e:
        raise InputFailure([f"{what} {e}"]) from None


def parse_percent(text: str, what: str) -> Decimal:
    """'-20%' or '+5.5%' -> Decimal fraction (-0.2, 0.055); more than -100 %."""
    if not text.endswith("%"):
        raise InputFailure([f"{what}: {text!r} must be a percentage such as -20% or +5%"])
    fraction = _decimal(text[:-1], f"{what}: {text!r}") / 100
    if fraction <= -1:
        raise InputFailure([f"{what}: {text} would take the price to zero or below"])
    return fraction


def _assignments(values: Iterable[str], option: str, form: str, convert: Callable[[str, str], Decimal]) -> Assignments:
    """('BTC=50000', …) -> ((name, convert(name, value)), …) for --price and --shock."""
    out = []
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise InputFailure([f"{option}: {text!r} is not {form}"])
        out.append((name, convert(name, value)))
    return tuple(out)


def _price(name: str, value: str) -> Decimal:
    price = _decimal(value, f"--price {name}:")
    if price <= 0:
        raise InputFailure([f"--price {name}: must be greater than 0 (got {value})"])
    return price


def _prices(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Assignments:
    return _assignments(values, "--price", "ASSET=VALUE, e.g. BTC=50000", _price)


def _shocks(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Assignments:
    return _assignments(
        values, "--shock", "ASSET=±N%, e.g. BTC=-20%", lambda name, value: parse_percent(value, f"--shock {name}")
    )


class _PlainHelp(_CommandMixin):
    """Click builds -h/--help on every run with a gettext-translated help text, and gettext imports locale:
    1.8 ms of every cron call. The same option with a plain English text, built once."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        option: click.Option | None = getattr(self, "_plain_help", None)
        if option is None:

            def show(ctx: click.Context, param: click.Parameter, value: bool) -> None:
                if value and not ctx.resilient_parsing:
                    from mamcli.console import out

                    out(ctx.get_help() + "\n")
                    ctx.exit()

            option = self._plain_help = click.Option(
                names,
                is_flag=True,
                is_eager=True,
                expose_value=False,
                callback=show,
                help="Show this message and exit.",
            )
        return option


class _OnceOnly(_CommandMixin):
    """An option that takes one value may be given once: `--steps 5 --steps 9` is a usage error, not "the last
    one wins" (flags and repeatable options such as --price are exempt).  Checked on the parser's record of
    the options in the order given, so it holds for every command and option at once."""

    def make_parser(self, ctx: click.Context) -> _OptionParser:
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args: list[str]) -> tuple[dict[str, Any], list[str], list[click.Parameter]]:
            opts, rest, order = parse(args)
            seen: set[int] = set()
            for param in order:
                if not isinstance(param, click.Option) or param.multiple or param.is_flag or param.count:
                    continue
                if id(param) in seen:
                    names = " / ".join(param.opts + param.secondary_opts)
                    raise click.UsageError(f"option {names} was given more than once; give it once", ctx)
                seen.add(id(param))
            return opts, rest, order

        parser.parse_args = parse_args  # type: ignore[method-assign]  # this parser's own, on purpose
        return parser


class _AccountParams(_CommandMixin):
    """Commands marked with @account_options take the account options (SPEC §12: before or after the name)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        if getattr(self.callback, "mamcli_account_options", False):
            return [*account_params(), *params]
        return params


class Command(_AccountParams, _OnceOnly, _PlainHelp, click.Command):
    pass


class Group(_AccountParams, _OnceOnly, _PlainHelp, click.Group):
    """The `mamcli` group.  Its commands are built only when asked for (Click's lazy loading of subcommands):
    each is registered as a factory with `@main.lazy(name, **attrs)`, and a run builds the one it runs, not
    all of them with their ~60 options (~0.5 ms of every cron call).  Help, completion and `commands` build
    every command."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.factories: dict[str, Callable[[], click.Command]] = {}
        super().__init__(*args, **kwargs)

    def lazy(self, name: str, **attrs: Any) -> Callable[[Factory], Factory]:
        """Register a command: the decorated factory returns its callback, parameters attached (@click.option…);
        the command is made from it, with `attrs` (short_help, cls…), on first use."""

        cls: type[click.Command] = attrs.pop("cls", self.command_class)

        def register(factory: Factory) -> Factory:
            self.factories[name] = lambda: click.command(name, cls=cls, **attrs)(factory())
            return factory

        return register

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        built = self._built
        if cmd_name not in built and cmd_name in self.factories:
            built[cmd_name] = self.factories[cmd_name]()
        return built.get(cmd_name)

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*self._built, *self.factories})

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        """Every command, built (for help, listings and tests)."""
        for name in self.factories:
            self.get_command(None, name)
        return self._built

    @commands.setter
    def commands(self, value: MutableMapping[str, click.Command]) -> None:
        self._built = value

    def command_named(self, args: list[str]) -> str | None:
        """The command name in a command line, found before parsing it: the first word that is neither an
        option of the group nor the value of one (an unknown option is taken for a flag)."""
        valued = {
            name
            for param in [*self.params, *account_params()]
            if isinstance(param, click.Option) and not param.is_flag and not param.count
            for name in param.opts
        }
        words = iter(args)
        for word in words:
            if word == "--":
                return next(words, None)
            if word.startswith("-") and word != "-":
                if word in valued:
                    next(words, None)
                continue
            return word
        return None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The process entry point (the `mamcli` script, `python -m mamcli`): process-wide set-up first."""
        from mamcli import console

        console.start()
        return self.main(*args, **kwargs)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's main, with one ending for every command: Click's errors are shown through mamcli's message
        writer (control characters escaped) and every stream failure and signal is handled by console.run."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        import sys

        from mamcli import console

        monitoring = self.command_named(sys.argv[1:] if args is None else list(args)) == "check"
        if monitoring:  # check speaks the Monitoring Plugins contract from the first option on (SPEC §9)
            console.on_failure(_report_unknown, MonitoringUnknown.exit_code)

        def body() -> int:
            try:
                code = super(Group, self).main(args, prog_name, complete_var, False, **extra)
            except click.ClickException as e:
                if monitoring:
                    text = "; ".join(e.problems) if isinstance(e, InputFailure) else e.format_message()
                    _report_unknown(text)
                    return MonitoringUnknown.exit_code
                e.show(console.MESSAGES)  # type: ignore[arg-type]
                return e.exit_code
            except click.Abort:
                if monitoring:
                    _report_unknown("aborted")
                    return MonitoringUnknown.exit_code
                console.message("mamcli: aborted")
                return 1
            return code if isinstance(code, int) else 0

        console.run(body)


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--version: the only path that reads package metadata (click.version_option would also import
    locale through gettext at start-up, 1.8 ms on every run)."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("mamcli")
    except PackageNotFoundError:
        text = "unknown (not installed)"
    from mamcli.console import out

    out(f"mamcli {text}\n")
    ctx.exit(0)


# ---------------------------------------------------------------------------------------------- account options
# Options that change the account are accepted before or after the command name (SPEC §12): each is declared
# once here, put on the group and on every account command, and merged into ctx.obj wherever it was given.


def _given_once(name: str) -> Callable[[click.Context, click.Parameter, object], object]:
    """Callback of a single-value account option: set it in ctx.obj, refusing it on both sides of the command."""

    def callback(ctx: click.Context, param: click.Parameter, value: object) -> object:
        if value is None or ctx.resilient_parsing:
            return value
        options = _options(ctx)
        if getattr(options, name) is not None:
            raise click.UsageError(f"option {param.opts[0]} was given more than once; give it once", ctx)
        setattr(options, name, value)
        return value

    return callback


def _switched_on(name: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    """Callback of an account flag: on if given on either side of the command."""

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value and not ctx.resilient_parsing:
            setattr(_options(ctx), name, True)
        return value

    return callback


def _added(
    name: str, parse: Callable[[click.Context, click.Parameter, tuple[str, ...]], Assignments]
) -> Callable[[click.Context, click.Parameter, tuple[str, ...]], Assignments]:
    """Callback of a repeatable account option: its values, parsed, join those given before the command."""

    def callback(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Assignments:
        parsed = parse(ctx, param, values)
        options = _options(ctx)
        setattr(options, name, getattr(options, name) + parsed)
        return parsed

    return callback


def _options(ctx: click.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options(None)
    ctx.obj = root.obj
    return root.obj


ACCOUNT_OPTIONS: tuple[Callable[[], click.Option], ...] = (
    lambda: click.Option(
        ["--rules"],
        metavar="NAME|PATH",
        expose_value=False,
        callback=_given_once("rules"),
        help="Rules profile: a shipped name (binance, the default; seed) or a TOML file. Overrides [account] rules.",
    ),
    lambda: click.Option(
        ["--tier"],
        metavar="NAME",
        expose_value=False,
        callback=_given_once("tier"),
        help="Tier of the rules profile (e.g. regular, vip2). Overrides [account] tier.",
    ),
    lambda: click.Option(
        ["--price"],
        metavar="ASSET=VALUE",
        multiple=True,
        expose_value=False,
        callback=_added("prices", _prices),
        help="Replace an asset's index price for this run (repeatable). Marks are not moved.",
    ),
    lambda: click.Option(
        ["--shock"],
        metavar="ASSET=±N%",
        multiple=True,
        expose_value=False,
        callback=_added("shocks", _shocks),
        help="Move an asset's index price and the marks of every position on it by N % (repeatable).",
    ),
    lambda: click.Option(
        ["--live"],
        is_flag=True,
        expose_value=False,
        callback=_switched_on("live"),
        help="The account itself, fetched signed from Binance (MAMCLI_API_KEY, MAMCLI_API_SECRET); no PORTFOLIO.",
    ),
    lambda: click.Option(
        ["--live-prices"],
        is_flag=True,
        expose_value=False,
        callback=_switched_on("live_prices"),
        help="PORTFOLIO's balances and positions with today's marks, index prices and buffers (public, no key).",
    ),
    lambda: click.Option(
        ["--base-url"],
        metavar="URL",
        expose_value=False,
        callback=_given_once("base_url"),
        help="REST root for the live sources [default: https://fapi.binance.com].",
    ),
    lambda: click.Option(
        ["--ws-url"],
        metavar="URL",
        expose_value=False,
        callback=_given_once("ws_url"),
        help="WebSocket root for watch [default: wss://fstream.binance.com].",
    ),
    lambda: click.Option(
        ["--timeout"],
        metavar="S",
        expose_value=False,
        callback=_given_once("timeout"),
        help="Seconds allowed for each request, body included [default: 10].",
    ),
)


_ACCOUNT_PARAMS: list[click.Parameter] = []


def account_params() -> list[click.Parameter]:
    """The account options, built once and only when a command is run (Click options cost ~10 µs each to
    build; nine commands' worth on every cron call is waste).  Group and commands share the same objects."""
    if not _ACCOUNT_PARAMS:
        _ACCOUNT_PARAMS.extend(make() for make in ACCOUNT_OPTIONS)
    return _ACCOUNT_PARAMS


def account_options(fn: F) -> F:
    """Mark a command (or the group) as taking the account options, before or after its name."""
    fn.mamcli_account_options = True  # type: ignore[attr-defined]  # a mark on the function object
    return fn


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_version, help="Show the version and exit."
)
@account_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Exact Binance USD-M Multi-Assets margin arithmetic for a portfolio file.

    PORTFOLIO is a TOML file (see README.md; `mamcli init` writes a starter), - for standard input, or
    taken from MAMCLI_PORTFOLIO. Options that change the account (--rules, --tier, --price, --shock) go
    before or after the command. Exit status: 0 fine, 1 the account is in the state the command warns
    about, 2 usage or input error.
    """
    _options(ctx)


def _colour() -> bool:
    from mamcli.console import is_terminal

    return is_terminal() and not os.environ.get("NO_COLOR")


def accounts(ctx: click.Context, portfolios: tuple[str, ...]) -> list[Pending]:
    """The accounts a command runs on, in order: (label, load) with load() -> (Portfolio, source, as_of).

    Each load raises InputError for its own account only.  Today the sources are PORTFOLIO files (or `-`),
    MAMCLI_PORTFOLIO when none is given; a live source is one more branch here, yielding its own loader.
    """
    from functools import partial

    from mamcli.batch import file_account

    options = ctx.obj
    if options.live:
        if options.live_prices:
            raise click.UsageError("--live and --live-prices: give one (--live already has today's prices)", ctx)
        if portfolios:
            raise click.UsageError("--live reads the account from Binance; give no PORTFOLIO with it", ctx)
        return [(_live_label(options), partial(_live_account, options))]
    if options.ws_url is not None:
        raise click.UsageError("--ws-url goes with watch", ctx)
    for given, name in ((options.base_url, "--base-url"), (options.timeout, "--timeout")):
        if given is not None and not options.live_prices:
            raise click.UsageError(f"{name} goes with --live or --live-prices", ctx)
    paths = portfolios or _portfolio_from_environment(ctx)
    if options.live_prices:
        return [(path, partial(_live_prices_account, options, path)) for path in paths]
    return [(path, partial(file_account, path, options.rules, options.tier)) for path in paths]


def _client(options: Options, signed: bool) -> Client:
    """One network client per run (shared by every account of a batch): signed for --live, public otherwise."""
    if signed not in options.clients:
        from mamcli import live
        from mamcli.netclient import Client

        base = options.base_url or live.DEFAULT_BASE_URL
        timeout = options.timeout if options.timeout is not None else live.TIMEOUT_SECONDS
        options.clients[signed] = live.client(base, timeout=timeout) if signed else Client(base, timeout)
    return options.clients[signed]


def _live_label(options: Options) -> str:
    from urllib.parse import urlsplit

    from mamcli import live

    return urlsplit(options.base_url or live.DEFAULT_BASE_URL).hostname or "live"


def _live_account(options: Options) -> Loaded:
    """--live: the signed account and public exchangeInfo, built in memory (source `live`)."""
    from mamcli import sources

    pf, as_of = sources.live_portfolio(_client(options, True), options.rules, options.tier)
    return pf, "live", as_of


def _live_prices_account(options: Options, path: str) -> Loaded:
    """--live-prices: the file's balances and positions, marks and index prices refreshed (`file+live-prices`)."""
    from mamcli import sources
    from mamcli.batch import file_account

    pf, _, _ = file_account(path, options.rules, options.tier)
    pf, as_of, _notes = sources.refresh_prices(pf, _client(options, False))  # the notes are in pf.assumptions
    return pf, "file+live-prices", as_of


def _portfolio_from_environment(ctx: click.Context) -> tuple[str, ...]:
    """MAMCLI_PORTFOLIO, the fallback when no PORTFOLIO is given (one path, taken whole: spaces are kept)."""
    path = os.environ.get("MAMCLI_PORTFOLIO")
    if not path:
        raise click.UsageError("Missing argument 'PORTFOLIO'.", ctx)
    return (path,)


def _loaded(ctx: click.Context, label: str, load: Callable[[], Loaded]) -> Loaded:
    """load() with the run's --price/--shock applied: (Portfolio, source, as_of) or InputError for this account."""
    from mamcli.engine import what_if
    from mamcli.model import InputError

    shown = "<stdin>" if label == "-" else label
    try:
        pf, source, as_of = load()
        pf = what_if(pf, ctx.obj.prices, ctx.obj.shocks, price_label="--price", shock_label="--shock")
    except ArithmeticError as e:
        raise InputError([f"{shown}: numbers too large or too small to compute exactly ({type(e).__name__})"]) from None
    return pf, source, as_of


def run(
    ctx: click.Context,
    portfolios: tuple[str, ...],
    as_json: bool,
    compute: Callable[[Portfolio], Result],
    fail_on: str = "red",
) -> None:
    """Load, compute, print, exit: the whole life of every account command, over one account or several.

    One account: its result (one pretty JSON object, or the tables).  Several (SPEC §9): in order, JSON Lines
    with a `portfolio` key, or one table section each; an input error is reported on stderr and the others
    are still computed; the exit status is the worst (2 over 1 over 0).
    """
    from mamcli import console
    from mamcli.batch import OneLine
    from mamcli.model import InputError
    from mamcli.stamps import iso

    pending = accounts(ctx, portfolios)
    several = len(pending) > 1
    worst = 0
    first = True
    for label, load in pending:
        shown = "<stdin>" if label == "-" else label
        try:
            pf, source, as_of = _loaded(ctx, label, load)
            try:
                result = compute(pf)
            except ArithmeticError as e:
                raise InputError(
                    [f"{shown}: numbers too large or too small to compute exactly ({type(e).__name__})"]
                ) from None
        except InputError as e:
            if not several:
                raise InputFailure(e.problems) from None
            InputFailure(e.problems).show()
            worst = INPUT_ERROR
            continue
        result = result._replace(source=source, as_of=iso(as_of), portfolio=label if several else None)
        for warning in result.warnings:
            console.message(f"mamcli: warning: {warning}")
        if as_json:  # the JSON path never loads the table renderer (start-up)
            from mamcli.jsonout import write_json

            if several:
                line = OneLine(console.UTF8)
                write_json(result, line)
                line.end()
            else:
                write_json(result, console.UTF8)
        else:
            from mamcli.render import write

            if several and not first:
                console.TEXT.write("\n")
            write(result, False, console.TEXT, screen=_screen(ctx), source=shown)
        first = False
        worst = max(worst, result.return_code(fail_on))
    ctx.exit(worst)


def _screen(ctx: click.Context) -> Screen:
    """How the tables are drawn: colour on a terminal, the terminal's width (none with --wide), -v."""
    from mamcli.render import Screen, columns

    wide = ctx.meta.get("mamcli.wide", False)
    return Screen(colour=_colour(), width=None if wide else columns(), verbose=ctx.meta.get("mamcli.verbose", False))


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """An output option of every account command, kept for the renderer (the commands do not take it)."""
    ctx.meta[f"mamcli.{param.name}"] = value


class _PortfolioPath(_TextParam):
    """A portfolio path (or -), checked by the loader; TAB completes file names.  Not click.Path: its
    translated type names import locale on every run (1.8 ms)."""

    name = "portfolio"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]


PORTFOLIO = _PortfolioPath()


def portfolio_options(fn: Callable[..., None]) -> Callable[..., None]:
    """The parameters of a command taking PORTFOLIO… and --json, the same everywhere."""
    fn = click.option(
        "-v", "--verbose", is_flag=True, expose_value=False, callback=_remember, help="List every assumption."
    )(fn)
    fn = click.option(
        "--wide", is_flag=True, expose_value=False, callback=_remember, help="Every column, whatever the width."
    )(fn)
    fn = click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object (several PORTFOLIOs: JSON Lines)."
    )(fn)
    fn = click.argument("portfolio", nargs=-1, metavar="PORTFOLIO...", type=PORTFOLIO)(fn)
    return account_options(click.pass_context(fn))


@main.lazy("equity", short_help="Collateral, initial margin, available for orders.")
def _equity() -> Callable[..., None]:
    @portfolio_options
    def equity_cmd(ctx: click.Context, portfolio: tuple[str, ...], as_json: bool) -> None:
        """Collateral after haircuts, initial margin and what is available for new orders."""
        from mamcli import engine

        run(ctx, portfolio, as_json, engine.equity)

    return equity_cmd


BAND_CHOICE = click.Choice(["green", "yellow", "red", "liquidation", "never"])


@main.lazy("risk", short_help="Margin ratio, band, liquidation prices.")
def _risk() -> Callable[..., None]:
    @portfolio_options
    @click.option(
        "--fail-on",
        type=BAND_CHOICE,
        default="red",
        show_default=True,
        help="Exit 1 when the band is at or beyond this one (never: exit 0 whatever the band).",
    )
    @click.option(
        "--compare",
        is_flag=True,
        help="Also lay the account out as isolated, single-asset cross and multi-asset side by side.",
    )
    def risk_cmd(ctx: click.Context, portfolio: tuple[str, ...], as_json: bool, fail_on: str, compare: bool) -> None:
        """Margin ratio, band, liquidation prices and shocks; exit 1 at or beyond --fail-on."""
        from mamcli import engine

        run(ctx, portfolio, as_json, lambda pf: engine.risk(pf, with_compare=compare), fail_on)

    return risk_cmd


def _shock_range(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, Decimal, Decimal]:
    parts = value.split(":")
    if len(parts) != 3 or not parts[0]:
        raise InputFailure([f"--shock-range: {value!r} is not ASSET:FROM%:TO%, e.g. BTC:-50%:+50%"])
    low, high = (parse_percent(p, f"--shock-range {parts[0]}") for p in parts[1:])
    if not low < high:
        raise InputFailure([f"--shock-range {value}: FROM must be below TO"])
    return parts[0], low, high


@main.lazy("stress", short_help="Sweep one asset's shock; find the cliff.")
def _stress() -> Callable[..., None]:
    @portfolio_options
    @click.option(
        "--shock-range",
        required=True,
        metavar="ASSET:FROM%:TO%",
        callback=_shock_range,
        help="The asset and the range of shocks to sweep, e.g. BTC:-50%:+50%.",
    )
    @click.option(
        "--steps",
        type=click.IntRange(2, 1001),
        default=21,
        show_default=True,
        help="Evenly spaced shocks, both ends included.",
    )
    @click.option(
        "--fail-on",
        type=BAND_CHOICE,
        default="red",
        show_default=True,
        help="Exit 1 when some step is at or beyond this band.",
    )
    def stress_cmd(
        ctx: click.Context,
        portfolio: tuple[str, ...],
        as_json: bool,
        shock_range: tuple[str, Decimal, Decimal],
        steps: int,
        fail_on: str,
    ) -> None:
        """The account across a sweep of one asset's shock, and the exact shock that liquidates it."""
        from mamcli import engine

        asset, low, high = shock_range
        run(
            ctx,
            portfolio,
            as_json,
            lambda pf: engine.stress(pf, asset, low, high, steps),
            fail_on,
        )

    return stress_cmd


@main.lazy("ltv", short_help="Loan-to-value and the idle-account trigger.")
def _ltv() -> Callable[..., None]:
    @portfolio_options
    def ltv_cmd(ctx: click.Context, portfolio: tuple[str, ...], as_json: bool) -> None:
        """Loan-to-value of the wallet balances; exit 1 when the idle-account LTV trigger is reached."""
        from mamcli import engine

        run(ctx, portfolio, as_json, engine.ltv)

    return ltv_cmd


@main.lazy("autoexchange", short_help="Would auto-exchange fire, what would it sell.")
def _autoexchange() -> Callable[..., None]:
    @portfolio_options
    @click.option(
        "--what-if", is_flag=True, help="Show the cover plan for every negative balance even when nothing triggers yet."
    )
    def autoexchange_cmd(ctx: click.Context, portfolio: tuple[str, ...], as_json: bool, what_if: bool) -> None:
        """Whether auto-exchange fires, what it sells and what that costs; exit 1 when it fires."""
        from mamcli import engine

        run(ctx, portfolio, as_json, lambda pf: engine.autoexchange(pf, what_if=what_if))

    return autoexchange_cmd


@main.lazy("switch-check", short_help="Would Binance accept a margin mode switch.")
def _switch_check() -> Callable[..., None]:
    @portfolio_options
    @click.option(
        "--to",
        "to",
        type=click.Choice(["multi-asset", "single-asset"]),
        default=None,
        help="Target mode (default: the other mode).",
    )
    def switch_cmd(ctx: click.Context, portfolio: tuple[str, ...], as_json: bool, to: str | None) -> None:
        """Whether Binance would let the account switch mode, and the account before and after."""
        from mamcli import engine

        run(ctx, portfolio, as_json, lambda pf: engine.switch_check(pf, to))

    return switch_cmd


# ---------------------------------------------------------------------------------------------- import


@main.lazy("import", short_help="Binance API responses to a portfolio file.")
def _import() -> Callable[..., None]:
    @click.option("--account", "account", metavar="FILE", help="Saved body of GET /fapi/v2/account.")
    @click.option("--positions", "positions", metavar="FILE", help="Saved body of GET /fapi/v2/positionRisk (or v3).")
    @click.option("--index", "index", metavar="FILE", help="Saved body of GET /fapi/v1/assetIndex.")
    @click.option("--brackets", "brackets", metavar="FILE", help="Saved body of GET /fapi/v1/leverageBracket.")
    @click.option("--mode", "mode", metavar="FILE", help="Saved body of GET /fapi/v1/multiAssetsMargin.")
    @click.option(
        "--exchange-info",
        "exchange_info",
        metavar="FILE",
        help="Saved body of GET /fapi/v1/exchangeInfo (thresholds, fees).",
    )
    @click.option(
        "-o",
        "--output",
        default="-",
        metavar="PATH|-",
        show_default=True,
        help="Where to write the portfolio; - is standard output.",
    )
    @click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
    @account_options
    @click.pass_context
    def import_cmd(
        ctx: click.Context,
        account: str | None,
        positions: str | None,
        index: str | None,
        brackets: str | None,
        mode: str | None,
        exchange_info: str | None,
        output: str,
        force: bool,
    ) -> None:
        """Turn Binance API responses into a portfolio file (written atomically, never over a file without --force).

        A global --price ASSET=VALUE supplies or replaces an asset's price.
        """
        from mamcli import importer
        from mamcli.files import write_text
        from mamcli.model import InputError
        from mamcli.portfolio import load_text
        from mamcli.valuation import account as value_of

        files = {"account": account, "positions": positions, "index": index, "brackets": brackets, "mode": mode}
        files["exchange_info"] = exchange_info
        live, base_url, timeout = ctx.obj.live, ctx.obj.base_url, ctx.obj.timeout
        if ctx.obj.ws_url is not None:
            raise click.UsageError("--ws-url goes with watch", ctx)
        try:
            if ctx.obj.live_prices:
                raise InputError(
                    ["import: --live-prices refreshes a portfolio's prices; use --live to import the account"]
                )
            if ctx.obj.shocks:
                raise InputError(["import: --shock changes an account, it does not describe one; use --price"])
            if live:
                if any(files.values()):
                    raise InputError(["import: --live fetches the responses itself; give no saved files with it"])
                from mamcli import live as live_api

                payloads = live_api.fetch(
                    base_url or live_api.DEFAULT_BASE_URL,
                    timeout=live_api.TIMEOUT_SECONDS if timeout is None else timeout,
                )
            else:
                if base_url or timeout is not None:
                    raise InputError([f"import: {'--base-url' if base_url else '--timeout'} goes with --live"])
                payloads = importer.Payloads()
                for kind, path in files.items():
                    if path:
                        payloads.add(kind, path, importer.read_json(path))
            doc, totals = importer.build(payloads, dict(ctx.obj.prices))
            for key, given in (("rules", ctx.obj.rules), ("tier", ctx.obj.tier)):
                if given is not None:  # what the user chose is kept in the file, not left to the defaults
                    doc.setdefault("account", {})[key] = given
            text = importer.to_toml(doc, totals["notes"])
            pf = load_text(text, "<imported portfolio>", rules=ctx.obj.rules, tier=ctx.obj.tier)
            acct = value_of(pf)
            write_text(output, text, force=force)
        except InputError as e:
            raise InputFailure(e.problems) from None
        from mamcli.numbers import fixed

        notes = [f"equity {fixed(acct.equity_usd, 2)} USD, maintenance {fixed(acct.maint_margin_usd, 2)} USD"]
        if pf.multi:  # the account's USD figures after haircuts
            pairs = [("totalMarginBalance", acct.equity_usd), ("totalMaintMargin", acct.maint_margin_usd)]
        else:  # single-asset: the account-level figures are USDT's own (SPEC §10)
            usdt = acct.totals.get("USDT")
            pairs = (
                []
                if usdt is None
                else [
                    ("totalMarginBalance", usdt.margin_balance),
                    ("availableBalance", usdt.available),
                    ("totalMaintMargin", usdt.maint_margin),
                ]
            )
        for field, ours in pairs:
            if field in totals:
                theirs = totals[field]
                if importer.agrees(ours, theirs):
                    notes.append(f"{field} {importer.plain(theirs)} agrees")
                else:
                    notes.append(
                        f"{field} {importer.plain(theirs)} DIFFERS from mamcli's {importer.plain(ours)} "
                        "(check prices and haircuts)"
                    )
        where = "" if output == "-" else f"wrote {output}: "
        from mamcli.console import message

        message(f"mamcli: import: {where}{'; '.join(notes)}")

    return import_cmd


# ---------------------------------------------------------------------------------------------- check


class MonitoringCommand(Command):
    """A command whose every failure, usage errors included, is UNKNOWN (exit 3) on standard output."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        from mamcli import console

        console.on_failure(_report_unknown, MonitoringUnknown.exit_code)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as e:
            raise MonitoringUnknown(e.format_message()) from None


class MonitoringUnknown(click.ClickException):
    exit_code = 3

    def show(self, file: IO[Any] | None = None) -> None:
        _report_unknown(self.message)


def _report_unknown(text: str) -> None:
    """An UNKNOWN status line on standard output, control characters escaped."""
    from mamcli.console import flush, out
    from mamcli.nagios import unknown_line
    from mamcli.text import escape

    out(unknown_line(escape(text)) + "\n")
    flush()


@main.lazy("check", cls=MonitoringCommand, short_help="Nagios/Icinga status line: every alarm of the account.")
def _check() -> Callable[..., None]:
    @click.argument("portfolio", nargs=-1, metavar="PORTFOLIO...", type=PORTFOLIO)
    @click.option(
        "-w",
        "--warning",
        default="50",
        show_default=True,
        metavar="RANGE",
        help="Warning range for the margin ratio in percent (Nagios syntax [@]start:end).",
    )
    @click.option(
        "-c",
        "--critical",
        default="80",
        show_default=True,
        metavar="RANGE",
        help="Critical range for the margin ratio in percent.",
    )
    @click.option(
        "--ae-warn",
        default="20",
        show_default=True,
        metavar="PERCENT",
        help="WARNING when a wallet is within this percent of its auto-exchange threshold (triggered: CRITICAL).",
    )
    @click.option(
        "--ltv-warn",
        default="0.9",
        show_default=True,
        metavar="LTV",
        help="WARNING when the LTV rule applies and the LTV is at least this (triggered: CRITICAL).",
    )
    @click.option(
        "--liq-warn",
        default="15",
        show_default=True,
        metavar="PERCENT",
        help="WARNING when a price move of less than this percent liquidates the account.",
    )
    @click.option(
        "--liq-crit",
        default="5",
        show_default=True,
        metavar="PERCENT",
        help="CRITICAL when a price move of less than this percent liquidates the account.",
    )
    @click.option(
        "--max-age",
        default=None,
        metavar="SECONDS",
        help="UNKNOWN when the data is older than this, or its time (as_of) is not known.",
    )
    @account_options
    @click.pass_context
    def check_cmd(
        ctx: click.Context,
        portfolio: tuple[str, ...],
        warning: str,
        critical: str,
        ae_warn: str,
        ltv_warn: str,
        liq_warn: str,
        liq_crit: str,
        max_age: str | None,
    ) -> None:
        """Monitoring Plugins status: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; several PORTFOLIOs: long output.

        The worst of: margin ratio (-w/-c), auto-exchange triggered or near, LTV, liquidation distance, age.
        """
        from datetime import UTC, datetime

        from mamcli import engine, nagios
        from mamcli.console import out
        from mamcli.model import InputError

        try:
            limits = nagios.Limits(warning, critical, ae_warn, ltv_warn, liq_warn, liq_crit, max_age)
        except InputError as e:
            raise MonitoringUnknown("; ".join(e.problems)) from None
        pending = accounts(ctx, portfolio)
        now = datetime.now(UTC)
        lines: list[tuple[str, int, str]] = []
        for label, load in pending:
            shown = "<stdin>" if label == "-" else label
            try:
                pf, _source, as_of = _loaded(ctx, label, load)
                prices = {name: a.price for name, a in pf.assets.items()}
                code, line = nagios.status(
                    engine.risk(pf), engine.autoexchange(pf), engine.ltv(pf), prices, as_of, now, limits
                )
            except InputError as e:
                code, line = nagios.UNKNOWN, nagios.unknown_line(_one_line("; ".join(e.problems)))
            except ArithmeticError as e:
                code = nagios.UNKNOWN
                line = nagios.unknown_line(_one_line(f"{shown}: numbers too large or too small ({type(e).__name__})"))
            lines.append((label, code, line))
        if len(lines) == 1:
            code, text = lines[0][1], lines[0][2]
        else:
            code, text = nagios.summary_line([(_one_line(label), c, line) for label, c, line in lines])
        out(text + "\n")
        ctx.exit(code)

    return check_cmd


def _one_line(text: str) -> str:
    from mamcli.text import escape

    return escape(text)


# ---------------------------------------------------------------------------------------------- init, rules


@main.lazy("init", short_help="Write a commented starter portfolio.")
def _init() -> Callable[..., None]:
    @click.argument("path", default="portfolio.toml", metavar="[PATH]")
    @click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
    def init_cmd(path: str, force: bool) -> None:
        """Write a commented starter portfolio to PATH (default portfolio.toml; - for standard output)."""
        import os

        from mamcli.files import write_text
        from mamcli.model import InputError

        with open(os.path.join(os.path.dirname(__file__), "starter.toml"), encoding="utf-8") as f:
            text = f.read()
        try:
            write_text(path, text, force=force)
        except InputError as e:
            raise InputFailure(e.problems) from None
        if path != "-":
            from mamcli.console import message

            message(f"mamcli: wrote {path}; edit it, then run: mamcli risk {path}")

    return init_cmd


@main.lazy("rules", short_help="List or show the rules profiles.")
def _rules() -> Callable[..., None]:
    @click.argument("name", required=False, metavar="[NAME|PATH]")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
    def rules_cmd(name: str | None, as_json: bool) -> None:
        """List the shipped rules profiles, or show one (a name or a path to your own file)."""
        from mamcli.model import InputError
        from mamcli.portfolio import SHIPPED_RULES, load_rules, resolve_rules
        from mamcli.render import render

        try:
            names = [name] if name else list(SHIPPED_RULES)
            profiles = [load_rules(*resolve_rules(n, None, "mamcli rules")) for n in names]
        except InputError as e:
            raise InputFailure(e.problems) from None
        result = {"command": "rules", "profiles": [_profile_dict(p) for p in profiles], "detail": bool(name)}
        from mamcli import console

        if as_json:
            console.UTF8.write(render(result, True) + "\n")
        else:
            from mamcli.render import Screen, columns

            console.TEXT.write(render(result, False, screen=Screen(colour=_colour(), width=columns())) + "\n")

    return rules_cmd


def _profile_dict(rules: Rules) -> dict[str, Any]:
    return {
        "name": rules.name,
        "description": rules.description,
        "ltv_trigger": rules.ltv_trigger,
        "bands": {"yellow": rules.yellow, "red": rules.red},
        "contracts": sorted(rules.contracts),
        "tiers": [{"name": t.name, "threshold_usd": t.threshold_usd, "thresholds": t.thresholds} for t in rules.tiers],
        "assets": rules.assets,
        "stable": [a for a in rules.assets if a in rules.stable] + sorted(rules.stable - set(rules.assets)),
        "stand_ins": sorted(rules.stand_ins),
        "liquidation_fees": rules.liquidation_fees,
        "default_liquidation_fee": rules.default_liquidation_fee,
        "brackets": {"as_of": rules.brackets_as_of, "source": rules.brackets_source, "symbols": list(rules.brackets)},
    }


# ---------------------------------------------------------------------------------------------- watch


@main.lazy("watch", short_help="Follow the account live: events, alarms, a live view.")
def _watch() -> Callable[..., None]:
    @click.argument("portfolio", required=False, metavar="[PORTFOLIO]", envvar="MAMCLI_PORTFOLIO")
    @click.option("--interval", metavar="S", help="Recompute at most once per S seconds [default: 1].")
    @click.option("--json", "as_json", is_flag=True, help="JSON Lines events, even on a terminal.")
    @click.option("--exec", "exec_cmd", metavar="CMD", help="Run CMD (no shell) for each event, its JSON on stdin.")
    @click.option("--until", type=BAND_CHOICE, help="Exit 1 as soon as the band is at or beyond this one.")
    @click.option("--duration", metavar="S", help="Exit 0 after S seconds.")
    @click.option("--ae-warn", default="20", show_default=True, metavar="PCT", help="Auto-exchange warning margin.")
    @click.option("--liq-warn", default="15", show_default=True, metavar="PCT", help="Liquidation distance warning.")
    @click.option("--liq-crit", default="5", show_default=True, metavar="PCT", help="Liquidation distance critical.")
    @account_options
    @click.pass_context
    def watch_cmd(
        ctx: click.Context,
        portfolio: str | None,
        interval: str | None,
        as_json: bool,
        exec_cmd: str | None,
        until: str | None,
        duration: str | None,
        ae_warn: str,
        liq_warn: str,
        liq_crit: str,
    ) -> None:
        """Follow the account live (Binance WebSocket streams): a live view on a terminal, JSON Lines events
        otherwise. Exit 0 after --duration or on SIGINT/SIGTERM, 1 at --until, 2 on an error before the start."""
        from mamcli import watch
        from mamcli.console import is_terminal
        from mamcli.model import InputError

        live, ws_url, base_url, timeout = ctx.obj.live, ctx.obj.ws_url, ctx.obj.base_url, ctx.obj.timeout
        if ctx.obj.live_prices:
            raise InputFailure(["watch: --live-prices is what watch does to a file already; leave it out"])
        if live and ctx.get_parameter_source("portfolio") == click.core.ParameterSource.ENVIRONMENT:
            portfolio = None  # MAMCLI_PORTFOLIO does not fight an explicit --live
        try:
            if ctx.obj.prices or ctx.obj.shocks:
                raise InputError(["watch follows live prices; --price and --shock do not apply to it"])
            st = watch.settings(
                portfolio,
                live,
                interval,
                as_json,
                exec_cmd,
                until,
                duration,
                ws_url,
                base_url,
                timeout,
                ae_warn,
                liq_warn,
                liq_crit,
                ctx.obj.rules,
                ctx.obj.tier,
                isatty=is_terminal(),
            )
            code = watch.run(st)
        except InputError as e:
            raise InputFailure(e.problems) from None
        except ArithmeticError as e:
            raise InputFailure(
                [f"watch: numbers too large or too small to compute exactly ({type(e).__name__})"]
            ) from None
        ctx.exit(code)

    return watch_cmd
