"""The examples of docs/proxy.md run, in order, as one session."""

from __future__ import annotations

import pathlib
from typing import Any

from tests.helpers.docs import code_blocks

DOC = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'proxy.md'


def test_proxy_doc_examples_run() -> None:
    blocks = code_blocks(DOC.read_text())
    assert len(blocks) >= 4
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(block, namespace)
