"""Run Python code in a fresh interpreter; fail with its stderr."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from tests.helpers.docs import ROOT


def run_python(
    script: pathlib.Path,
    *,
    cwd: pathlib.Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """Run a script with this interpreter; it must succeed.

    The repository root is on `PYTHONPATH` (for `examples/` and `tests/`).

    Args:
        script: Path of the script.
        cwd: Working directory.
        env: Extra environment variables.
        timeout: Seconds the script may take.

    Returns:
        The finished process (with its captured stdout and stderr).
    """
    result = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, 'PYTHONPATH': str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result


def run_example(
    source: str,
    directory: pathlib.Path,
    env: dict[str, str] | None = None,
    *,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Write `source` to `directory/example.py` and run it there.

    See `run_python` for the arguments.
    """
    script = directory / 'example.py'
    script.write_text(source)
    return run_python(script, cwd=directory, env=env, timeout=timeout)
