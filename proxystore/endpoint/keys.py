"""Validation of the key and UUID strings that clients send."""

from __future__ import annotations

import functools
import re
import uuid

from proxystore.endpoint.exceptions import InvalidKeyError

MAX_KEY_LENGTH = 256
"""Longest accepted object key."""

_KEY_PATTERN = re.compile(r'[A-Za-z0-9_.:-]+')


def validate_key(key: str) -> str:
    """Return `key` if it is a well-formed object key.

    Keys are opaque to endpoints but restricted to a small alphabet
    (letters, digits, `_ . : -`) and at most `MAX_KEY_LENGTH` characters so
    no key can smuggle paths, control characters, or SQL into any layer.

    Raises:
        InvalidKeyError: If the key is empty, too long, or has other
            characters.
    """
    if (
        not isinstance(key, str)
        or not 0 < len(key) <= MAX_KEY_LENGTH
        or _KEY_PATTERN.fullmatch(key) is None
    ):
        raise InvalidKeyError(
            f'Invalid object key {key!r}: keys are 1-{MAX_KEY_LENGTH} '
            'characters from [A-Za-z0-9_.:-].',
        )
    return key


@functools.lru_cache(maxsize=1024)
def validate_uuid(value: str | uuid.UUID) -> str:
    """Return the canonical string form of an endpoint UUID.

    Results are cached: every request names an endpoint, and parsing a
    UUID costs a noticeable share of a small request.

    Raises:
        InvalidKeyError: If `value` is not a UUID.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        raise InvalidKeyError(
            f'Invalid endpoint UUID {value!r}.',
        ) from None
