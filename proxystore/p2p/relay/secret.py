"""Endpoint secrets: proving to a relay that a UUID is yours.

Without authentication every relay client is the same anonymous user, so
a relay cannot tell an endpoint from an impostor registering the
endpoint's UUID. An endpoint therefore sends a secret of its own (kept in
its 0600 config) in the `X-ProxyStore-Endpoint-Secret` header of the
websocket handshake:

```python
RelayClient(address, client_uuid=uuid, extra_headers=secret_headers(s))
```

The first registration of a UUID with a secret pins the secret's SHA-256
for as long as the relay runs; later registrations of that UUID must send
the same secret (and, with authentication, come from the same user). A
UUID first registered without a secret is pinned only while it is live.
Upstream clients, which send no secret, can still register fresh UUIDs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

ENDPOINT_SECRET_HEADER = 'X-ProxyStore-Endpoint-Secret'
"""Handshake header carrying the endpoint secret."""

MAX_SECRET_LENGTH = 1024
"""Longest secret a relay accepts."""


def new_endpoint_secret() -> str:
    """Return a fresh random endpoint secret (URL-safe text, 256 bits)."""
    return secrets.token_urlsafe(32)


def secret_headers(secret: str) -> dict[str, str]:
    """Return the handshake headers that send `secret` to a relay."""
    return {ENDPOINT_SECRET_HEADER: secret}


def secret_digest(headers: Mapping[str, str]) -> bytes | None:
    """Return the SHA-256 of the secret in `headers` (None if absent).

    Raises:
        ValueError: If the secret is empty or longer than
            `MAX_SECRET_LENGTH`.
    """
    secret = headers.get(ENDPOINT_SECRET_HEADER)
    if secret is None:
        return None
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        raise ValueError(
            f'The {ENDPOINT_SECRET_HEADER} header must hold 1 to '
            f'{MAX_SECRET_LENGTH} characters.',
        )
    return hashlib.sha256(secret.encode()).digest()


def same_digest(a: bytes | None, b: bytes | None) -> bool:
    """Whether two secret digests match (in constant time); None never."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a, b)
