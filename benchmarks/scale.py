"""Scale of `mamcli risk --json` over generated portfolios of 100 … 100,000 positions on 50 assets.

Run: python3 benchmarks/scale.py [SIZES…]   (default 100 1000 10000 100000)
For each size: median wall time and peak RSS of `mamcli risk FILE --json`, and of the floor: a bare
process that only parses the same file (`tomllib.load(f, parse_float=Decimal)`). Targets: growth
linear in positions; at 10,000 positions time <= 1.5x and peak memory <= 2x the floor.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _venv import clean_env, make_venv

STABLE = ["USDT", "USDC"]
BASES = ["BTC", "ETH", "BNB"] + [f"C{i:02d}" for i in range(1, 46)]  # 48 non-stable: 50 assets


def generate(n: int) -> str:
    lines = ['[account]\nmode = "multi-asset"\n']
    for name in STABLE:
        lines.append(f"[assets.{name}]\nbalance = {n * 500}\nprice = 1\n")
    for k, name in enumerate(BASES):
        extra = "" if name in ("BTC", "ETH", "BNB") else "haircut = 0.1\nautoexchange_haircut = 0.05\n"
        lines.append(f"[assets.{name}]\nbalance = {k % 3}\nprice = {100 + k * 7}\n{extra}")
    for i in range(n):
        base = BASES[i % len(BASES)]
        quote = STABLE[(i // len(BASES)) % 2]
        price = 100 + BASES.index(base) * 7
        side = "long" if i % 3 else "short"
        lines.append(
            f'[[positions]]\nsymbol = "{base}{quote}"\nside = "{side}"\nquantity = {1 + i % 5}\n'
            f"entry_price = {price + (i % 11) - 5}\nmark_price = {price}\nleverage = {5 + i % 20}\n"
        )
    lines.append("[brackets]")
    for base in BASES:
        for quote in STABLE:
            lines.append(
                f"{base}{quote} = [ {{ floor = 0, cap = 5000, mmr = 0.01, cum = 0 }}, "
                f"{{ floor = 5000, cap = 25000000, mmr = 0.02, cum = 50 }}, "
                f"{{ floor = 25000000, mmr = 0.05, cum = 750050 }} ]"
            )
    return "\n".join(lines) + "\n"


PEAK = (
    "import resource, sys\n"
    "def report():\n"
    "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
FLOOR = PEAK + (
    "import tomllib\nfrom decimal import Decimal\n"
    "with open(sys.argv[1], 'rb') as f:\n    tomllib.load(f, parse_float=Decimal)\nreport()\n"
)
MAMCLI = PEAK + (
    "sys.argv = ['mamcli', 'risk', sys.argv[1], '--json']\nfrom mamcli.cli import main\n"
    "import atexit\natexit.register(report)\nmain()\n"
)


def run(cmd, env) -> tuple[float, int]:
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    peak = next(int(line.split()[1]) for line in r.stderr.splitlines() if line.startswith("PEAK"))
    return wall, peak


def main(sizes) -> None:
    bin_dir = make_venv()
    py = str(bin_dir / "python")
    env = clean_env()
    folder = Path(tempfile.mkdtemp(prefix="mamcli-scale-"))
    print("positions  file MB   floor s  mamcli s  time x   floor MB  mamcli MB  mem x   mamcli us/position")
    for n in sizes:
        path = folder / f"p{n}.toml"
        path.write_text(generate(n))
        repeats = 5 if n <= 10000 else 2
        floor = [run([py, "-c", FLOOR, str(path)], env) for _ in range(repeats)]
        ours = [run([py, "-c", MAMCLI, str(path)], env) for _ in range(repeats)]
        ft, fm = statistics.median(t for t, _ in floor), max(m for _, m in floor) / 1024
        mt, mm = statistics.median(t for t, _ in ours), max(m for _, m in ours) / 1024
        print(
            f"{n:9d}  {path.stat().st_size / 1e6:7.1f}  {ft:8.3f}  {mt:8.3f}  {mt / ft:6.2f}  {fm:9.1f}  "
            f"{mm:9.1f}  {mm / fm:5.2f}   {mt / n * 1e6:10.1f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000, 100000])
