"""The process entry point: signals are handled from the first instruction on (SPEC §11)."""

import subprocess
import sys

EARLY_CTRL_C = """
import builtins, os, signal, sys
import mamcli.__main__ as entry

real_import = builtins.__import__

def importing(name, *args, **kwargs):
    if name == "mamcli.cli":  # Ctrl-C while Click and the CLI are still being imported
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kwargs)

builtins.__import__ = importing
sys.argv = ["mamcli", "--version"]
entry.run()
"""


def test_ctrl_c_while_importing_is_handled_like_any_other():
    r = subprocess.run([sys.executable, "-c", EARLY_CTRL_C], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (130, "", "mamcli: interrupted\n")


def test_the_script_entry_runs_the_cli():
    r = subprocess.run([sys.executable, "-m", "mamcli", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("mamcli ")


def test_the_json_path_does_not_load_the_table_renderer():
    from conftest import sample

    code = (
        "import sys, runpy\n"
        f"sys.argv = ['mamcli', 'risk', {sample('hedged.toml')!r}, '--json']\n"
        "import mamcli.__main__ as entry\n"
        "try:\n    entry.run()\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in ('mamcli.render', 'tabulate') if m in sys.modules]\n"
        "sys.stderr.write(repr(loaded))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stderr.endswith("[]"), r.stderr
