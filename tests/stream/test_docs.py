"""The Python examples of docs/stream.md run (each in a fresh interpreter)."""

from __future__ import annotations

import pathlib

import pytest

from tests.fixtures.redis import RedisServer
from tests.helpers.docs import doc_blocks
from tests.helpers.scripts import run_example

BLOCKS = doc_blocks('stream.md')
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
    run_example(code, tmp_path, timeout=60)
