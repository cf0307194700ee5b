"""Run example scripts and documentation snippets in fresh interpreters."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from tests.test_readme import code_blocks

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_blocks(doc: str) -> list[str]:
    """The fenced Python code blocks of a Markdown file in `docs/`."""
    return code_blocks((ROOT / 'docs' / doc).read_text())


def run_python(
    script: pathlib.Path,
    *,
    cwd: pathlib.Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a script with this interpreter; fail with its stderr if it fails."""
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result
