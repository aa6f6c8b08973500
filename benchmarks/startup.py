"""Start-up of `mamcli risk SAMPLE --json` (and the table path) against the bare-import floor.

Run: python3 benchmarks/startup.py [RUNS]   (default 30 interleaved runs; prints medians and ratios)
Floors, in the same venv: `python -c "import click, tomllib, decimal, json"` for the JSON path and
`python -c "import click, tomllib, decimal, tabulate"` for the table path. Target: both ratios <= 1.15.
"""

import platform
import statistics
import subprocess
import sys
import time

from _venv import ROOT, clean_env, make_venv


def timed(cmd, env, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(runs: int = 30) -> None:
    bin_dir = make_venv()
    py, mamcli = str(bin_dir / "python"), str(bin_dir / "mamcli")
    sample = str(ROOT / "samples" / "hedged.toml")
    env, cwd = clean_env(), "/"
    cases = {
        "floor json": [py, "-c", "import click, tomllib, decimal, json"],
        "mamcli risk --json": [mamcli, "risk", sample, "--json"],
        "floor table": [py, "-c", "import click, tomllib, decimal, tabulate"],
        "mamcli risk (table)": [mamcli, "risk", sample],
    }
    for cmd in cases.values():  # warm the page cache and write bytecode
        for _ in range(3):
            timed(cmd, env, cwd)
    times = {name: [] for name in cases}
    for _ in range(runs):  # interleaved, so drift hits every case alike
        for name, cmd in cases.items():
            times[name].append(timed(cmd, env, cwd))
    med = {name: statistics.median(t) * 1000 for name, t in times.items()}
    print(
        f"start-up, {runs} interleaved runs, median wall ms ({platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()})"
    )
    for name, ms in med.items():
        print(f"  {name:22s} {ms:7.1f}")
    json_ratio = med["mamcli risk --json"] / med["floor json"]
    table_ratio = med["mamcli risk (table)"] / med["floor table"]
    print(f"  ratio json  {json_ratio:.3f}  (target <= 1.15) {'ok' if json_ratio <= 1.15 else 'MISS'}")
    print(f"  ratio table {table_ratio:.3f}  (target <= 1.15) {'ok' if table_ratio <= 1.15 else 'MISS'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
