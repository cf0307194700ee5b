"""The switch between the C and the pure-Python proxy core.

The C core (`proxystore.proxy._cproxy`, built by `pip install`) is used
when it imports; otherwise the pure-Python core (`_pyproxy`) is used and a
one-line `RuntimeWarning` says so. Setting the environment variable
`PROXYSTORE_PURE_PYTHON=1` selects the pure-Python core without a warning.
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType
from typing import Literal

from proxystore.proxy._resolver import Backend
from proxystore.proxy._resolver import make_resolver

ImplementationName = Literal['c', 'python']

_MODULES: dict[ImplementationName, str] = {
    'c': 'proxystore.proxy._cproxy',
    'python': 'proxystore.proxy._pyproxy',
}
_loaded: dict[ImplementationName, ModuleType] = {}


def load(name: ImplementationName) -> ModuleType:
    """Import one proxy core and install its resolver.

    Args:
        name: `'c'` or `'python'`.

    Raises:
        ImportError: If the core cannot be imported (the C extension was
            not built).
    """
    module = _loaded.get(name)
    if module is None:
        module = importlib.import_module(_MODULES[name])
        backend: Backend = module
        module.set_resolver(make_resolver(backend))
        _loaded[name] = module
    return module


def loaded() -> list[ModuleType]:
    """The cores imported so far (the selected one first)."""
    return list(_loaded.values())


def _select() -> tuple[ImplementationName, ModuleType]:
    if os.environ.get('PROXYSTORE_PURE_PYTHON', '') not in ('', '0'):
        return 'python', load('python')
    try:
        return 'c', load('c')
    except ImportError as e:
        warnings.warn(
            f'proxystore: C proxy core unavailable ({e}); using the '
            'pure-Python proxy.',
            RuntimeWarning,
            # Attributed to the import machinery, which has no source
            # line to print: the warning stays on one line.
            stacklevel=3,
        )
        return 'python', load('python')


IMPLEMENTATION, CORE = _select()
