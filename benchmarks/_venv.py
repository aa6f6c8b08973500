"""A throw-away venv with mamcli installed from this checkout, as a user would have it."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_venv() -> Path:
    """Create a venv under the system temp folder and `pip install .` into it; return its bin folder."""
    where = Path(tempfile.mkdtemp(prefix="mamcli-bench-"))
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)]
    subprocess.run(pip, check=True, env=clean_env(), stderr=subprocess.DEVNULL)
    return where / "bin"


def clean_env() -> dict:
    """The environment a user's shell or cron has: bytecode caching on, nothing injected."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONSTARTUP")}
    return env
