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

That is trust on first use: whoever registers a UUID first holds it. An
endpoint whose UUID is `uuid_for_secret(secret)` needs no such trust: its
secret *proves* the UUID (a relay recomputes it), so it takes its UUID
back from anyone who registered it first, and nobody else can take it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping

ENDPOINT_SECRET_HEADER = 'X-ProxyStore-Endpoint-Secret'
"""Handshake header carrying the endpoint secret."""

MAX_SECRET_LENGTH = 1024
"""Longest secret a relay accepts."""


def new_endpoint_secret() -> str:
    """Return a fresh random endpoint secret (URL-safe text, 256 bits)."""
    return secrets.token_urlsafe(32)


def uuid_for_secret(secret: str) -> uuid.UUID:
    """Return the endpoint UUID that `secret` proves (a version-4 UUID).

    It is made of 122 bits of the SHA-256 of a fixed prefix and the
    secret, so knowing the UUID reveals nothing of the secret.
    """
    digest = hashlib.sha256(
        b'proxystore-endpoint-uuid\0' + secret.encode(),
    ).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def proves_uuid(headers: Mapping[str, str], uuid_: uuid.UUID) -> bool:
    """Whether the secret in `headers` proves `uuid_` (`uuid_for_secret`)."""
    secret = headers.get(ENDPOINT_SECRET_HEADER)
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return False
    return hmac.compare_digest(uuid_for_secret(secret).bytes, uuid_.bytes)


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
