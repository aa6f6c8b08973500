"""Every SPEC §13 performance target, measured on this checkout, with OK or MISS.

Run: python3 benchmarks/targets.py [--quick] [--small N] [--big N] [--runs N] [--steps N] [--rev REV] [--keep]
     python3 benchmarks/targets.py --profile CASE [--small N] [--big N] [--rev REV]   (cProfile, in-process)

Like startup.py and scale.py it installs this checkout into a throw-away venv (`pip install .`, bytecode caching
on) and runs the installed mamcli from `/`; with --rev REV it installs that commit (`git archive`) instead of the
work tree, e.g. to measure HEAD while files are being edited, or an older commit for a before/after.

The portfolios are generated with REAL bracket tables: the 10-12-tier snapshot the package ships
(mamcli/rules/binance-brackets.toml: BTC, ETH, BNB, SOL, XRP, DOGE x USDT, USDC), copied into each file's
[brackets]. Positions are spread over those 12 symbols, sides mixed, notionals in every tier of their table
(more in the low tiers: weights 1, 1/4, 1/9, ...; always below the last cap), one mark per symbol within 0.1 %
of its index price, entries within 2 % of the mark, leverage as Binance allows it at that tier, on 50 assets
(USDT, USDC, the six bases, 42 more collateral assets with a haircut of their own), tier "regular" of the
`binance` profile.

Targets (SPEC §13), each a ratio of medians:
  1. 300 positions, multi-asset: `risk --json` <= 2.5x the start-up floor `python -c "import click, tomllib,
     decimal, json"` (runs interleaved).
  2. SMALL (10,000) positions: `risk --json` <= 2.5x a bare process that only parses the file
     (`tomllib.load(f, parse_float=Decimal)`) in wall time, <= 2x in peak RSS (ru_maxrss).
  3. BIG (100,000) positions: `risk --compare --json` <= 1.5x `risk --json` on the same file; `--compare` and an
     all-isolated single-asset account grow linearly: cost per position at BIG <= 1.5x the cost at SMALL (the
     margin left for the allocator and garbage collector on a 10x larger input).
  4. SMALL positions: `stress --shock-range BTC:-50%:+50% --steps 1001 --json` <= 5x `risk --json`.
Every generated file is checked first: a run that exits 2 (an input error) stops the script with its message.

--quick: SMALL 2,000 and BIG 10,000 (under two minutes on a 2-core VM); the full run takes about 10 minutes.
Figures at other sizes than SPEC's are marked so in the table; targets are judged on them all the same.
"""

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from contextlib import redirect_stdout, suppress
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from _venv import ROOT, clean_env, make_venv

SNAPSHOT = ROOT / "mamcli" / "rules" / "binance-brackets.toml"
QUOTES = ("USDT", "USDC")
# base: (index price, quantity step, mark tick); the six bases of the bracket snapshot.
BASES: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "BTC": (Decimal(64000), Decimal("0.001"), Decimal("0.1")),
    "ETH": (Decimal(3100), Decimal("0.001"), Decimal("0.01")),
    "BNB": (Decimal(580), Decimal("0.01"), Decimal("0.01")),
    "SOL": (Decimal(145), Decimal(1), Decimal("0.001")),
    "XRP": (Decimal("0.52"), Decimal("0.1"), Decimal("0.0001")),
    "DOGE": (Decimal("0.12"), Decimal(1), Decimal("0.00001")),
}
IN_PROFILE = {"USDT", "USDC", "BTC", "ETH", "BNB"}  # the binance profile gives these a haircut
EXTRA = [f"X{i:02d}" for i in range(1, 43)]  # 42 more collateral assets: 50 in all


def snapshot() -> dict[str, list[dict[str, Decimal | int]]]:
    """The package's bracket tables, as tomllib reads them (Decimals for the rates)."""
    with SNAPSHOT.open("rb") as f:
        tables: dict[str, list[dict[str, Decimal | int]]] = tomllib.load(f, parse_float=Decimal)["brackets"]
    return {sym: tables[sym] for base in BASES for q in QUOTES if (sym := base + q) in tables}


def _row(r: dict[str, Decimal | int]) -> str:
    return "{ " + ", ".join(f"{k} = {v}" for k, v in r.items()) + " }"


def generate(n: int, isolated: bool = False, seed: int = 11) -> str:
    """A portfolio of n positions: multi-asset on 50 assets, or (isolated) single-asset with every position
    isolated on its quote's wallet."""
    rng = random.Random(seed + n + (1 if isolated else 0))
    tables = snapshot()
    symbols = sorted(tables)
    # one mark price per symbol, within 0.1 % of its base's index price
    marks = {
        s: (BASES[s[:-4]][0] * Decimal(1 + rng.uniform(-0.001, 0.001))).quantize(BASES[s[:-4]][2]) for s in symbols
    }
    maint = dict.fromkeys(QUOTES, Decimal(0))
    upnl = dict.fromkeys(QUOTES, Decimal(0))
    body = []
    for i in range(n):
        sym = symbols[i % len(symbols)]
        base, quote = sym[:-4], sym[-4:]
        index, step, tick = BASES[base]
        table = tables[sym]
        # low tiers more often, every tier sometimes: weights 1, 1/4, 1/9, ...
        t = rng.choices(range(len(table)), weights=[1 / (k + 1) ** 2 for k in range(len(table))])[0]
        lo, hi = Decimal(table[t]["floor"]), Decimal(table[t].get("cap", table[t]["floor"] * 2))
        mark = marks[sym]
        notional = lo + (hi - lo) * Decimal(rng.uniform(0.05, 0.95))
        qty = max(step, (notional / mark).quantize(step, ROUND_DOWN))
        notional = qty * mark
        entry = (mark * Decimal(1 + rng.uniform(-0.02, 0.02))).quantize(tick)
        side = 1 if rng.random() < 0.55 else -1
        row = next(r for r in reversed(table) if notional >= r["floor"])
        mmr, cum = Decimal(row["mmr"]), Decimal(row["cum"])
        leverage = max(1, min(20, int(1 / (2 * mmr))))  # Binance lowers the maximum leverage tier by tier
        maint[quote] += notional * mmr - cum
        upnl[quote] += side * qty * (mark - entry)
        lines = [
            "[[positions]]",
            f'symbol = "{sym}"',
            f'side = "{"long" if side > 0 else "short"}"',
            f"quantity = {qty}",
            f"entry_price = {entry}",
            f"mark_price = {mark}",
            f"leverage = {leverage}",
        ]
        if isolated:
            lines += [
                'margin_type = "isolated"',
                f"isolated_wallet = {(notional / leverage).quantize(Decimal('0.01'))}",
            ]
        body.append("\n".join(lines))
    head = [
        "[account]",
        f'mode = "{"single-asset" if isolated else "multi-asset"}"',
        'rules = "binance"',
        'tier = "regular"',
        "",
    ]
    total_maint = sum(maint.values())
    if isolated:  # cross wallets only: every position carries its own isolated wallet
        for q in QUOTES:
            head += [f"[assets.{q}]", f"balance = {1000 + n * 10}", "price = 1", ""]
    else:
        # USDC covers its own positions' losses and half their margin; USDT the rest, for a ratio near 1/3.
        usdc = max(Decimal(0), -upnl["USDC"]) + maint["USDC"] / 2
        usdt = 3 * total_maint - upnl["USDT"] - upnl["USDC"] - usdc
        head += ["[assets.USDT]", f"balance = {usdt.quantize(Decimal('0.01'))}", "price = 1.0001", ""]
        head += ["[assets.USDC]", f"balance = {usdc.quantize(Decimal('0.01'))}", "price = 0.9998", ""]
        for base, (index, step, _tick) in BASES.items():
            extra = [] if base in IN_PROFILE else ["haircut = 0.1", "autoexchange_haircut = 0.05"]
            held = (Decimal(rng.uniform(0, 20000)) / index).quantize(step)
            head += [f"[assets.{base}]", f"balance = {held}", f"price = {index}", *extra, ""]
        for k, name in enumerate(EXTRA):
            price = Decimal(rng.uniform(0.05, 400)).quantize(Decimal("0.0001"))
            haircut = ("0.1", "0.05") if k % 2 else ("0.15", "0.1")
            head += [
                f"[assets.{name}]",
                f"balance = {(Decimal(rng.uniform(0, 5000)) / price).quantize(Decimal('0.01'))}",
                f"price = {price}",
                f"haircut = {haircut[0]}",
                f"autoexchange_haircut = {haircut[1]}",
                "",
            ]
    brackets = ["[brackets]"] + [f"{sym} = [ {', '.join(_row(r) for r in tables[sym])} ]" for sym in symbols]
    return "\n".join(head) + "\n" + "\n\n".join(body) + "\n\n" + "\n".join(brackets) + "\n"


# ---------------------------------------------------------------------------------------------- running

PEAK = (
    "import resource, sys\n"
    "def report():\n"
    "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
FLOOR_PARSE = PEAK + (
    "import tomllib\nfrom decimal import Decimal\n"
    "with open(sys.argv[1], 'rb') as f:\n    tomllib.load(f, parse_float=Decimal)\nreport()\n"
)
MAMCLI_PEAK = PEAK + (
    "sys.argv = ['mamcli', *sys.argv[1:]]\nfrom mamcli.cli import main\n"
    "import atexit\natexit.register(report)\nmain()\n"
)
FLOOR_START = "import click, tomllib, decimal, json"


def export(rev: str) -> Path:
    """Commit `rev` of this repository as `git archive` gives it, in a new temp folder."""
    tree = Path(tempfile.mkdtemp(prefix="mamcli-rev-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def venv_at(rev: str) -> Path:
    """Like _venv.make_venv, but `pip install` of commit `rev` as `git archive` gives it; return the bin folder."""
    tree = export(rev)
    where = tree / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", str(tree)]
    subprocess.run(pip, check=True, env=clean_env(), stderr=subprocess.DEVNULL)
    return where / "bin"


class Bench:
    def __init__(self, bin_dir: Path) -> None:
        self.py = str(bin_dir / "python")
        self.mamcli = str(bin_dir / "mamcli")
        self.env = clean_env()

    def once(self, cmd: list[str], check: bool = True) -> tuple[float, int | None]:
        """Wall seconds and peak RSS in KiB (when the command reports it) of one run; exit 2 stops everything."""
        start = time.perf_counter()
        r = subprocess.run(cmd, env=self.env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        if check and r.returncode not in (0, 1):
            sys.exit(f"targets: {' '.join(cmd[-6:])} exited {r.returncode}:\n{r.stderr[-2000:]}")
        peak = next((int(x.split()[1]) for x in r.stderr.splitlines() if x.startswith("PEAK")), None)
        return wall, peak

    def mam(self, *args: str, peak: bool = False) -> list[str]:
        return [self.py, "-c", MAMCLI_PEAK, *args] if peak else [self.mamcli, *args]

    def medians(self, cases: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float | None]]:
        """Median wall seconds and largest peak MiB of each case, the cases interleaved run by run."""
        walls: dict[str, list[float]] = {k: [] for k in cases}
        peaks: dict[str, list[int]] = {k: [] for k in cases}
        for _ in range(runs):
            for name, cmd in cases.items():
                wall, peak = self.once(cmd)
                walls[name].append(wall)
                if peak is not None:
                    peaks[name].append(peak)
        return {k: (statistics.median(walls[k]), max(peaks[k]) / 1024 if peaks[k] else None) for k in cases}


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, figures: str, ratio: float, target: float) -> None:
        verdict = "OK" if ratio <= target else "MISS"
        self.rows.append((what, figures, f"{ratio:.2f}x <= {target:g}x", verdict))
        print(f"  {what}: {figures}  -> {ratio:.2f}x (target <= {target:g}x) {verdict}", flush=True)

    def show(self) -> None:
        widths = [max(len(r[i]) for r in self.rows) for i in range(4)]
        print()
        for r in self.rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _size(n: int, spec: int) -> str:
    return f"{n:,}" if n == spec else f"{n:,} (SPEC: {spec:,})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="SMALL 2,000 and BIG 10,000 positions")
    ap.add_argument("--small", type=int, help="positions for targets 2 and 4 (default 10,000)")
    ap.add_argument("--big", type=int, help="positions for target 3 (default 100,000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure at SMALL and BIG (median; default 3)")
    ap.add_argument("--steps", type=int, default=1001, help="stress steps (default 1001)")
    ap.add_argument("--rev", help="measure this commit (git archive) instead of the work tree")
    ap.add_argument("--keep", action="store_true", help="keep the generated files and print their folder")
    ap.add_argument(
        "--profile",
        choices=["risk300", "risk", "compare", "isolated", "stress"],
        help="instead: cProfile one case in-process on the source tree (or --rev), top 15 by cumulative and own time",
    )
    a = ap.parse_args()
    small = a.small or (2000 if a.quick else 10000)
    big = a.big or (10000 if a.quick else 100000)
    if a.profile:
        profile(a.profile, small, big, a.steps, ROOT if a.rev is None else export(a.rev))
        return

    folder = Path(tempfile.mkdtemp(prefix="mamcli-targets-"))
    t0 = time.perf_counter()
    what = a.rev or "--dirty"  # the work tree: named by its commit, "-dirty" when files are changed
    rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", what], capture_output=True, text=True)
    print(
        f"mamcli §13 targets at {rev.stdout.strip() or '?'}{'' if a.rev else ' (work tree)'}, "
        f"{platform.python_implementation()} {platform.python_version()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"medians of {a.runs} runs at {small:,}/{big:,} positions",
        flush=True,
    )
    b = Bench(make_venv() if a.rev is None else venv_at(a.rev))

    def file(name: str, n: int, isolated: bool = False) -> str:
        path = folder / f"{name}.toml"
        path.write_text(generate(n, isolated))
        b.once(b.mam("risk", str(path), "--json"))  # loads cleanly (exit 0 or 1), and warms the page cache
        return str(path)

    t = Table()
    # 1. 300 positions against the start-up floor
    p300 = file("multi300", 300)
    for _ in range(3):
        b.once([b.py, "-c", FLOOR_START])
    m = b.medians({"floor": [b.py, "-c", FLOOR_START], "risk": b.mam("risk", p300, "--json")}, 15)
    t.add(
        "1. 300 positions, risk --json vs start-up floor",
        f"{m['risk'][0] * 1000:.0f} ms / {m['floor'][0] * 1000:.0f} ms",
        m["risk"][0] / m["floor"][0],
        2.5,
    )

    # 2. SMALL positions against parsing the file
    ps = file(f"multi{small}", small)
    runs_small = max(a.runs, 5) if small <= 10000 else a.runs
    m = b.medians({"floor": [b.py, "-c", FLOOR_PARSE, ps], "risk": b.mam("risk", ps, "--json", peak=True)}, runs_small)
    (ft, fm), (rt, rm) = m["floor"], m["risk"]
    assert fm is not None and rm is not None
    size = f"{Path(ps).stat().st_size / 1e6:.1f} MB"
    t.add(
        f"2. {_size(small, 10000)} positions ({size}), risk --json vs parse, time",
        f"{rt:.2f} s / {ft:.2f} s",
        rt / ft,
        2.5,
    )
    t.add(
        f"2. {_size(small, 10000)} positions, risk --json vs parse, peak RSS", f"{rm:.0f} MB / {fm:.0f} MB", rm / fm, 2
    )
    risk_small = rt

    # 3. --compare at SMALL and BIG, and its ratio to plain risk at BIG
    m = b.medians({"compare": b.mam("risk", ps, "--compare", "--json")}, a.runs)
    compare_small = m["compare"][0]
    pb = file(f"multi{big}", big)
    m = b.medians({"risk": b.mam("risk", pb, "--json"), "compare": b.mam("risk", pb, "--compare", "--json")}, a.runs)
    rb, cb = m["risk"][0], m["compare"][0]
    t.add(f"3. {_size(big, 100000)} positions, risk --compare vs risk --json", f"{cb:.2f} s / {rb:.2f} s", cb / rb, 1.5)
    us_s, us_b = compare_small / small * 1e6, cb / big * 1e6
    t.add(
        f"3. risk --compare, us/position at {small:,} -> {big:,}",
        f"{us_s:.0f} -> {us_b:.0f} us",
        us_b / us_s,
        1.5,
    )

    # 3. all-isolated single-asset at SMALL and BIG
    iso = {}
    for n in (small, big):
        p = file(f"isolated{n}", n, isolated=True)
        iso[n] = b.medians({"risk": b.mam("risk", p, "--json")}, a.runs)["risk"][0]
    us_s, us_b = iso[small] / small * 1e6, iso[big] / big * 1e6
    t.add(
        f"3. all-isolated single-asset risk --json, us/position at {small:,} -> {big:,}",
        f"{iso[small]:.2f} s, {us_s:.0f} us -> {iso[big]:.2f} s, {us_b:.0f} us",
        us_b / us_s,
        1.5,
    )

    # 4. stress at SMALL positions (same file)
    shock = ["--shock-range", "BTC:-50%:+50%", "--steps", str(a.steps), "--json"]
    m = b.medians({"stress": b.mam("stress", ps, *shock)}, a.runs)
    st = m["stress"][0]
    t.add(
        f"4. {_size(small, 10000)} positions, stress --steps {a.steps} vs risk --json",
        f"{st:.2f} s / {rt:.2f} s",
        st / risk_small,
        5,
    )

    t.show()
    print(f"\n({time.perf_counter() - t0:.0f} s in all; files in {folder if a.keep else 'a temp folder, removed'})")
    if not a.keep:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


# ---------------------------------------------------------------------------------------------- profile


HIDE = r"^(?!.*\b(core|decorators|targets|cli|numbers)\.py:)"


def profile(case: str, small: int, big: int, steps: int, source: Path) -> None:
    """cProfile of one case in this process, on the source tree `source` (not a venv): top 15 by cumulative
    and by own time. The file is generated first and its parsing is part of the profile, as in a real run."""
    sys.path.insert(0, str(source))
    from mamcli.cli import main as cli_main

    n, isolated, extra = {
        "risk300": (300, False, []),
        "risk": (small, False, []),
        "compare": (big, False, ["--compare"]),
        "isolated": (big, True, []),
        "stress": (small, False, ["--shock-range", "BTC:-50%:+50%", "--steps", str(steps)]),
    }[case]
    command = "stress" if case == "stress" else "risk"
    with tempfile.TemporaryDirectory() as where:
        path = Path(where) / f"{case}{n}.toml"
        path.write_text(generate(n, isolated))
        args = [command, str(path), *extra, "--json"]
        run: Callable[[], object] = lambda: cli_main(args, standalone_mode=False)  # noqa: E731
        prof = cProfile.Profile()
        start = time.perf_counter()
        with redirect_stdout(io.StringIO()), suppress(SystemExit):
            prof.runcall(run)
        wall = time.perf_counter() - start
    print(f"profile: mamcli {command} <{n:,} positions{', all isolated' if isolated else ''}> {' '.join(extra)} --json")
    print(f"wall {wall:.2f} s under cProfile")
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        # Click's dispatch and this script's wrapper only repeat the total: left out of the listing
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats(key).print_stats(HIDE, 15)
        text = out.getvalue()
        print(f"--- top 15 by {key}")
        print(text[text.index("   ncalls") :].rstrip())


if __name__ == "__main__":
    main()
