"""Mutation proof (SPEC §13 "Tests that can fail"): each mistake below must make the suite fail.

Run from anywhere:  .venv/bin/python tests/mutations.py [NAME ...]

For each mutation the repository is copied to a temporary directory (without .git, .venv and caches), the
edits are applied to the copy's source, and the suite runs there (`python -m pytest -q -x -p no:cacheprovider`)
with the copy first on PYTHONPATH, so the mutated package is the one imported, also by the subprocesses some
tests start.  One line per mutation: KILLED (the suite failed), SURVIVED (it passed: a hole in the tests),
or PATTERN NOT FOUND (the source moved; add a variant to the table).  A baseline run of the unmutated copy
comes first: it must pass, or every KILLED below would mean nothing.

Not collected by pytest (the file name does not start with test_).  Exit status: 0 when every mutation is
killed, 1 otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> variants, each a list of (file, exact old text, new text).  The first variant whose every old text
# is found is applied (every occurrence replaced); the variants follow the source as it moves (the engine
# before and after the valuation-module refactor).  None found: PATTERN NOT FOUND.
Edit = tuple[str, str, str]
MUTATIONS: dict[str, list[list[Edit]]] = {
    "half-even output rounding": [
        [
            (
                "mamcli/numbers.py",
                "rounding=ROUND_HALF_UP, context=OUTPUT_CONTEXT",
                'rounding="ROUND_HALF_EVEN", context=OUTPUT_CONTEXT',
            ),
        ],
    ],
    "discriminant sign flipped": [
        [("mamcli/liquidation.py", "disc = c1 * c1 - 4 * c2 * c0", "disc = c1 * c1 + 4 * c2 * c0")],
    ],
    "root choice: the second root dropped": [
        [("mamcli/liquidation.py", "return [q / c2, c0 / q]", "return [q / c2]")],
    ],
    "negative balance at the bid rate": [
        [
            (
                "mamcli/valuation.py",
                "return asset.bid_rate if margin_balance >= 0 else asset.ask_rate",
                "return asset.bid_rate",
            )
        ],
        [
            (
                "mamcli/engine.py",
                "return asset.bid_rate if margin_balance >= 0 else asset.ask_rate",
                "return asset.bid_rate",
            )
        ],
    ],
    "floor notional in the lower bracket": [
        # one bracket rule (model.bracket_index), asked by positions and the solver alike
        [("mamcli/model.py", "if notional >= brackets[i].floor:", "if notional > brackets[i].floor:")],
        # two copies of the rule: model.select_bracket and liquidation._Maintenance
        [
            ("mamcli/model.py", "if notional >= b.floor:", "if notional > b.floor:"),
            ("mamcli/liquidation.py", "if n0 >= table[j].floor:", "if n0 > table[j].floor:"),
        ],
    ],
}

PYTEST = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache", "*.egg-info", "build")


def copy_repo(dest: Path) -> Path:
    target = dest / "repo"
    shutil.copytree(ROOT, target, ignore=IGNORE, symlinks=True)
    return target


def apply(repo: Path, variants: list[list[Edit]]) -> list[str]:
    """Apply the first variant whose old texts are all found; return what is missing when none is."""
    missing: list[str] = []
    for edits in variants:
        texts: dict[str, str] = {}
        absent = []
        for file, old, _new in edits:
            path = repo / file
            if file not in texts:
                texts[file] = path.read_text(encoding="utf-8") if path.exists() else ""
            if old not in texts[file]:
                absent.append(f"{file}: {old!r}")
        if absent:
            missing += absent
            continue
        for file, old, new in edits:
            texts[file] = texts[file].replace(old, new)
        for file, text in texts.items():
            (repo / file).write_text(text, encoding="utf-8")
        return []
    return missing


def run_suite(repo: Path) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("MAMCLI_REGEN_GOLDEN", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(repo) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    start = time.perf_counter()
    r = subprocess.run(PYTEST, cwd=repo, env=env, capture_output=True, text=True)
    lines = r.stdout.strip().splitlines() or [""]
    failed = next((line.split(" - ")[0][len("FAILED ") :] for line in lines if line.startswith("FAILED ")), "")
    tail = lines[-1] + (f"; first failure {failed}" if failed else "")
    return r.returncode, tail, time.perf_counter() - start


def main(argv: list[str]) -> int:
    chosen = argv or list(MUTATIONS)
    unknown = [n for n in chosen if n not in MUTATIONS]
    if unknown:
        print(f"unknown mutation(s): {', '.join(unknown)}; known: {', '.join(MUTATIONS)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mamcli-mut-") as tmp:
        base = copy_repo(Path(tmp) / "baseline")
        code, tail, secs = run_suite(base)
        # the copy really is what runs: the package imported is the copy's
        probe = subprocess.run(
            [sys.executable, "-c", "import mamcli; print(mamcli.__file__)"],
            cwd=base,
            env={**os.environ, "PYTHONPATH": str(base)},
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not probe.startswith(str(base)):
            print(f"baseline: the copy's package is not the one imported ({probe})")
            return 2
        print(f"{'baseline (no mutation)':40} {'PASSED' if code == 0 else 'FAILED'}  ({secs:.1f} s: {tail})")
        if code != 0:
            print("the unmutated suite fails: fix that first")
            return 2
        failures = 0
        for n, name in enumerate(chosen):
            repo = copy_repo(Path(tmp) / f"m{n}")
            missing = apply(repo, MUTATIONS[name])
            if missing:
                print(f"{name:40} PATTERN NOT FOUND: {'; '.join(missing)}")
                failures += 1
                continue
            code, tail, secs = run_suite(repo)
            verdict = "KILLED" if code != 0 else "SURVIVED"
            failures += code == 0
            print(f"{name:40} {verdict}  ({secs:.1f} s: {tail})")
            shutil.rmtree(repo)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
