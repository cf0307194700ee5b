"""Moved: the distributed in-memory connectors live in ProxyStore Extensions.

Importing this module only emits a `UserWarning` saying where the
connectors went: change `proxystore.connectors.dim` imports to
`proxystore.ex.connectors.dim` and `pip install proxystore-ex`.
"""

from __future__ import annotations

import warnings

warnings.warn(
    'The proxystore.connectors.dim module has moved to ProxyStore '
    'Extensions. Change imports from proxystore.connectors.dim to '
    'proxystore.ex.connectors.dim and install the extensions package '
    'with pip install proxystore-ex.',
    stacklevel=2,
)
