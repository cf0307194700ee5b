"""Find the store's error in a proxy's resolve-error chain."""

from __future__ import annotations

from typing import TypeVar

from proxystore.store.exceptions import ProxyResolveMissingKeyError

E = TypeVar('E', bound=BaseException)


def find_in_chain(error: BaseException, error_type: type[E]) -> E:
    """Return the error of `error_type` behind (or being) `error`.

    A proxy wraps every factory error in a `ProxyResolveError` with
    `.cause` (and `__cause__`) set; some errors are raised directly. Both
    shapes are accepted.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, error_type):
            return seen
        seen = getattr(seen, 'cause', None) or seen.__cause__
    raise AssertionError(f'No {error_type.__name__} behind {error!r}')


def missing_key_error(error: BaseException) -> ProxyResolveMissingKeyError:
    """Return the `ProxyResolveMissingKeyError` behind a resolve error."""
    return find_in_chain(error, ProxyResolveMissingKeyError)
