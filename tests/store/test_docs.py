"""The Python examples of the Store and ownership docs run as written."""

from __future__ import annotations

import pathlib

import pytest

from tests.helpers.docs import doc_blocks
from tests.helpers.scripts import run_python

EXAMPLES = [
    (doc, block)
    for doc in ('store.md', 'ownership-and-executor.md')
    for block in doc_blocks(doc)
    # Signature listings (`Store(name, connector, *, ...)`) are not code.
    if not block.lstrip().startswith('Store(')
]


def test_examples_found() -> None:
    docs = {doc for doc, _ in EXAMPLES}
    assert docs == {'store.md', 'ownership-and-executor.md'}
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize(
    ('doc', 'code'),
    EXAMPLES,
    ids=[f'{doc}-{i}' for i, (doc, _) in enumerate(EXAMPLES)],
)
def test_example_runs(doc: str, code: str, tmp_path: pathlib.Path) -> None:
    script = tmp_path / 'example.py'
    script.write_text(code)
    run_python(script, cwd=tmp_path)
