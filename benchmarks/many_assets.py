"""Growth of `mamcli risk --json` with the number of assets (SPEC §11: linear loading).

Run: python3 benchmarks/many_assets.py [SIZES…]   (default 1000 2000 5000 10000)
     add --here to run this checkout's source (PYTHONPATH) instead of a fresh venv install.
Each size N is a multi-asset portfolio of N assets (USDT and N-1 others, each with its own haircut) and N
positions, one per non-stable asset, quoted in USDT (`A00001USDT` …).  For each size: the median wall time of
3 runs, the floor (a bare process that only parses the file with tomllib), and the growth against the
smallest size.  Target: 10,000 assets cost at most about 5x the same over 2,000 assets.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _venv import ROOT, clean_env, make_venv


def generate(n: int) -> str:
    lines = ['[account]\nmode = "multi-asset"\n', f"[assets.USDT]\nbalance = {n * 1000}\nprice = 1\n"]
    for i in range(1, n):
        lines.append(f"[assets.A{i:05d}]\nbalance = {i % 7}\nprice = {10 + i % 97}\nhaircut = 0.1\n")
    for i in range(n):
        k = i % (n - 1) + 1
        price = 10 + k % 97
        side = "long" if i % 3 else "short"
        lines.append(
            f'[[positions]]\nsymbol = "A{k:05d}USDT"\nside = "{side}"\nquantity = {1 + i % 5}\n'
            f"entry_price = {price}\nmark_price = {price}\nmaint_margin_rate = 0.01\n"
        )
    return "\n".join(lines) + "\n"


FLOOR = (
    "import sys, tomllib\nfrom decimal import Decimal\n"
    "with open(sys.argv[1], 'rb') as f:\n    tomllib.load(f, parse_float=Decimal)\n"
)


def wall(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if r.returncode not in (0, 1):
        raise SystemExit(f"{cmd}: exit {r.returncode}: {r.stderr.decode()}")
    return took


def main(sizes: list[int], here: bool) -> None:
    env = clean_env()
    if here:
        py = sys.executable
        env["PYTHONPATH"] = str(ROOT)
    else:
        py = str(make_venv() / "python")
    folder = Path(tempfile.mkdtemp(prefix="mamcli-assets-"))
    print("assets  positions  file MB  floor s  mamcli s  growth (vs first)  size x")
    first = None
    times = {}
    for n in sizes:
        path = folder / f"a{n}.toml"
        path.write_text(generate(n))
        floor = statistics.median(wall([py, "-c", FLOOR, str(path)], env) for _ in range(3))
        ours = statistics.median(wall([py, "-m", "mamcli", "risk", str(path), "--json"], env) for _ in range(3))
        times[n] = ours
        first = first or (n, ours)
        print(
            f"{n:6d}  {n:9d}  {path.stat().st_size / 1e6:7.1f}  {floor:7.3f}  {ours:8.3f}  "
            f"{ours / first[1]:17.2f}  {n / first[0]:6.1f}"
        )
        os.unlink(path)
    if 2000 in times and 10000 in times:
        print(f"10,000 assets / 2,000 assets: {times[10000] / times[2000]:.2f}x (target: about 5x)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--here"]
    main([int(a) for a in args] or [1000, 2000, 5000, 10000], "--here" in sys.argv[1:])
