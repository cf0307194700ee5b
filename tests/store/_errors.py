"""Find the store's error in a proxy's resolve-error chain."""

from __future__ import annotations

from proxystore.store.exceptions import ProxyResolveMissingKeyError


def missing_key_error(error: BaseException) -> ProxyResolveMissingKeyError:
    """Return the `ProxyResolveMissingKeyError` behind a resolve error.

    A proxy wraps every factory error in a `ProxyResolveError` with
    `.cause` (and `__cause__`) set; the factory itself raises the store's
    error directly. Both shapes are accepted.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ProxyResolveMissingKeyError):
            return seen
        seen = getattr(seen, 'cause', None) or seen.__cause__
    raise AssertionError(f'No ProxyResolveMissingKeyError behind {error!r}')
