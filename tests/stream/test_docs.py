"""The Python examples of docs/stream.md run (each in a fresh interpreter)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from tests.fixtures.redis import RedisServer

DOC = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'stream.md'
BLOCKS = re.findall(r'```python\n(.*?)```', DOC.read_text(), re.S)
# Kafka needs a broker, which the test environment does not have.
RUNNABLE = [block for block in BLOCKS if 'confluent_kafka' not in block]


def test_examples_found() -> None:
    assert len(RUNNABLE) >= 5


@pytest.mark.parametrize('index', range(len(RUNNABLE)))
def test_example_runs(
    index: int,
    redis_server: RedisServer,
    tmp_path: pathlib.Path,
) -> None:
    code = RUNNABLE[index].replace('6379', str(redis_server.port))
    script = tmp_path / 'example.py'
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
