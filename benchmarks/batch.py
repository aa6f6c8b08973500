"""A desk in one run (SPEC §9, §13): 1,000 small portfolios in one batch against one process per file.

Run: python3 benchmarks/batch.py [N] [--here] [--command risk]
     N portfolios (default 1000), each of about 10 positions on real-looking bracket tables; --here runs this
     checkout's source (PYTHONPATH) instead of a fresh venv install.
Prints the wall time of `mamcli COMMAND --json P1 … PN` (one process, JSON Lines), of N runs of
`mamcli COMMAND --json Pi` one after another, and their ratio.  Target: batch <= 0.3x the processes.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _venv import ROOT, clean_env, make_venv

SYMBOLS = ("BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "ADA", "LINK", "AVAX", "DOT")
# Binance-like tiers: (cap, maintenance rate, maintenance amount), floors chained from 0
TIERS = (
    (50_000, "0.004", 0),
    (250_000, "0.005", 50),
    (3_000_000, "0.01", 1_300),
    (15_000_000, "0.025", 46_300),
    (30_000_000, "0.05", 421_300),
    (80_000_000, "0.1", 1_921_300),
    (100_000_000, "0.125", 3_921_300),
    (200_000_000, "0.15", 6_421_300),
    (300_000_000, "0.25", 26_421_300),
)


def brackets(symbol: str) -> str:
    rows, floor = [], 0
    for cap, mmr, cum in TIERS:
        rows.append(f"{{ floor = {floor}, cap = {cap}, mmr = {mmr}, cum = {cum} }}")
        floor = cap
    return f"{symbol}USDT = [ " + ", ".join(rows) + " ]"


def portfolio(i: int) -> str:
    """Account i: USDT and BTC collateral, ten USDT-margined positions, brackets for each symbol."""
    lines = [
        '[account]\nmode = "multi-asset"\ntier = "vip2"\nopen_orders = 0\n',
        f"[assets.USDT]\nbalance = {20_000 + 37 * i}\nprice = 1\n",
        f"[assets.BTC]\nbalance = 0.{i % 9 + 1}\nprice = 60000\n",
    ]
    for k, base in enumerate(SYMBOLS):
        price = 10 + (k * 97 + i) % 3000
        lines.append(
            f'[[positions]]\nsymbol = "{base}USDT"\nside = "{"long" if (i + k) % 3 else "short"}"\n'
            f"quantity = {1 + (i + k) % 5}\nentry_price = {price}\nmark_price = {price + k - 4}\nleverage = 10\n"
        )
    lines.append("[brackets]\n" + "\n".join(brackets(s) for s in SYMBOLS))
    return "\n".join(lines) + "\n"


def wall(cmds: list[list[str]], env: dict) -> float:
    start = time.perf_counter()
    for cmd in cmds:
        r = subprocess.run(cmd, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode not in ((0, 1, 2) if "check" in cmd else (0, 1)):
            raise SystemExit(f"{cmd[:4]}…: exit {r.returncode}: {r.stderr.decode()[:500]}")
    return time.perf_counter() - start


def main() -> None:
    args = sys.argv[1:]
    here = "--here" in args
    command = "risk"
    if "--command" in args:
        command = args[args.index("--command") + 1]
        args = [a for a in args if a not in ("--command", command)]
    sizes = [int(a) for a in args if a.isdigit()]
    n = sizes[0] if sizes else 1000
    env = clean_env()
    if here:
        env["PYTHONPATH"] = str(ROOT)
        mamcli = [sys.executable, "-m", "mamcli"]
    else:
        mamcli = [str(make_venv() / "mamcli")]
    folder = Path(tempfile.mkdtemp(prefix="mamcli-batch-"))
    paths = []
    for i in range(n):
        path = folder / f"account{i:04d}.toml"
        path.write_text(portfolio(i))
        paths.append(str(path))
    flags = [] if command == "check" else ["--json"]  # check prints its status lines (long output)
    # warm the bytecode cache and check that the files are accepted
    wall([[*mamcli, command, *flags, paths[0]]], env)
    batch = wall([[*mamcli, command, *flags, *paths]], env)
    each = wall([[*mamcli, command, *flags, p] for p in paths], env)
    print(f"{os.uname().machine}, CPython {sys.version.split()[0]}, {n} portfolios of {len(SYMBOLS)} positions")
    what = f"{command} {' '.join(flags)}".strip()
    print(f"one batch run ({what}): {batch:8.2f} s  ({batch / n * 1000:.1f} ms an account)")
    print(f"one process per file:                  {each:8.2f} s  ({each / n * 1000:.1f} ms an account)")
    print(f"batch / processes: {batch / each:.3f}  (target <= 0.3)")


if __name__ == "__main__":
    main()
