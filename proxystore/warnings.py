"""Warning categories used by ProxyStore."""

from __future__ import annotations


class ExperimentalWarning(Warning):
    """A feature is experimental and may change in a future release.

    Silence it with the standard `warnings` filters:

    ```python
    import warnings
    from proxystore.warnings import ExperimentalWarning

    warnings.simplefilter('ignore', category=ExperimentalWarning)
    ```
    """
