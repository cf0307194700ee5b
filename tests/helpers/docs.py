"""The fenced code blocks of Markdown documents."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
"""The repository root."""

DOCS = ROOT / 'docs'
"""The documentation folder."""


def code_blocks(markdown: str, language: str = 'python') -> list[str]:
    """The fenced code blocks of one language in Markdown text, in order."""
    pattern = rf'^```{language}\n(.*?)^```'
    return re.findall(pattern, markdown, flags=re.DOTALL | re.MULTILINE)


def doc_blocks(name: str, language: str = 'python') -> list[str]:
    """The fenced code blocks of `docs/<name>`, in order."""
    return code_blocks((DOCS / name).read_text(), language)
