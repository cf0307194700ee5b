"""MkDocs hook: link cross-references to outside objects without inventories.

Docstrings cross-reference the standard library and third-party packages
(``[`queue.Queue`][queue.Queue]``). Building the site must not download
inventories, so before mkdocs-autorefs resolves references this hook
registers a URL for every such identifier: the Python documentation for a
standard library object and the PyPI project page for a third-party one.
References inside `proxystore` are left alone, so a broken one still fails
`mkdocs build --strict`.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from typing import Any

_IDENTIFIER = re.compile(r'<autoref[^>]*\bidentifier="([\w.]+)"')
_PYTHON_DOCS = 'https://docs.python.org/3/library'


def _module_of(identifier: str) -> str:
    """The longest importable module prefix of a dotted identifier."""
    parts = identifier.split('.')
    for end in range(len(parts), 0, -1):
        name = '.'.join(parts[:end])
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return parts[0]


def external_url(identifier: str) -> str | None:
    """Where the documentation of an outside object is (None: ours)."""
    root = identifier.split('.')[0]
    if root == 'proxystore':
        return None
    if root in sys.stdlib_module_names or root == 'builtins':
        module = _module_of(identifier)
        anchor = identifier if identifier != module else f'module-{module}'
        return f'{_PYTHON_DOCS}/{module}.html#{anchor}'
    return f'https://pypi.org/project/{root}/'


def on_env(env: Any, config: Any, files: Any) -> Any:
    """Register outside identifiers with autorefs (runs before it)."""
    autorefs = config.plugins['autorefs']
    for file in files:
        page = file.page
        if page is None or not page.content:
            continue
        for identifier in set(_IDENTIFIER.findall(page.content)):
            url = external_url(identifier)
            if url is not None:
                autorefs.register_url(identifier, url)
    return env
