"""ProxyStore Extensions, under the `proxystore.ex` name.

This module re-exports the
[`proxystore-ex`](https://pypi.org/project/proxystore-ex/) package
(`proxystore_ex`), which holds experimental and less common features.
Any attribute of `proxystore_ex` is also an attribute of this module.

Install it with `pip install 'proxystore[extensions]'` (or
`pip install proxystore-ex`).
"""

from __future__ import annotations

from typing import Any

try:
    import proxystore_ex  # type: ignore[import-not-found,unused-ignore]
    from proxystore_ex import *  # type: ignore[import-not-found,unused-ignore] # noqa: F403
except ModuleNotFoundError as e:
    if e.name != 'proxystore_ex':
        raise
    raise ImportError(
        'The proxystore.ex module needs the ProxyStore Extensions package, '
        'which is not installed. Install it with '
        "pip install 'proxystore[extensions]' or pip install proxystore-ex.",
        name=e.name,
    ) from e


def __getattr__(name: str) -> Any:
    """Forward any other attribute to `proxystore_ex`."""
    return getattr(proxystore_ex, name)
