"""Which user and endpoint secret hold each UUID registered at a relay."""

from __future__ import annotations

import collections
import dataclasses
import uuid
from collections.abc import Container
from typing import Any

from proxystore.p2p.relay.authenticate import NullUser
from proxystore.p2p.relay.exceptions import ForbiddenError
from proxystore.p2p.relay.secret import same_digest


@dataclasses.dataclass
class Pin:
    """The holder of a UUID.

    Attributes:
        user: User that registered the UUID.
        digest: SHA-256 of the endpoint secret it registered with, if any.
    """

    user: Any
    digest: bytes | None


class PinTable:
    """Pins of UUIDs: who may register each one.

    A pin with a secret digest lasts as long as the table (bounded by
    `max_pins`, dropping the oldest pins of UUIDs that are not live); a
    pin without one is released when its registration ends.

    Args:
        max_pins: Most pins kept.
    """

    def __init__(self, max_pins: int = 100_000) -> None:
        self._max_pins = max_pins
        self._pins: collections.OrderedDict[uuid.UUID, Pin] = (
            collections.OrderedDict()
        )

    def __contains__(self, uuid_: object) -> bool:
        return uuid_ in self._pins

    def uuids(self) -> list[uuid.UUID]:
        """Return the pinned UUIDs, oldest first."""
        return list(self._pins)

    def check(
        self,
        uuid_: uuid.UUID,
        user: Any,
        digest: bytes | None,
        proven: bool = False,
    ) -> None:
        """Raise unless `user` with secret `digest` may take `uuid_`.

        `proven` says the secret proves the UUID (`uuid_for_secret`): then
        only the user must match.

        Raises:
            ForbiddenError: If the UUID is pinned to another user, to a
                different secret, or (for the anonymous `NullUser`) to no
                secret at all, so nothing proves the same endpoint.
        """
        pin = self._pins.get(uuid_)
        if pin is None:
            return
        if pin.user != user:
            raise ForbiddenError(
                f'Client {uuid_} is already registered to another user.',
            )
        if proven:
            return
        if pin.digest is not None and not same_digest(pin.digest, digest):
            raise ForbiddenError(
                f'UUID {uuid_} is held by an endpoint with a different '
                'secret.',
            )
        if pin.digest is None and isinstance(user, NullUser):
            raise ForbiddenError(
                f'UUID {uuid_} is live; without auth only its endpoint '
                'secret can replace it.',
            )

    def pin(
        self,
        uuid_: uuid.UUID,
        user: Any,
        digest: bytes | None,
        live: Container[uuid.UUID] = (),
    ) -> None:
        """Pin `uuid_` to `user` and `digest` (after a registration).

        A secret pin is not downgraded by a registration without one (that
        can only be the same socket registering again). When over
        `max_pins`, the oldest pins whose UUID is not in `live` go.
        """
        old = self._pins.get(uuid_)
        if digest is None and old is not None and old.digest is not None:
            return
        self._pins[uuid_] = Pin(user, digest)
        self._pins.move_to_end(uuid_)
        while len(self._pins) > self._max_pins:
            stale = next((u for u in self._pins if u not in live), None)
            if stale is None:
                break
            del self._pins[stale]

    def release(self, uuid_: uuid.UUID) -> None:
        """The registration of `uuid_` ended: drop its pin unless secret."""
        pin = self._pins.get(uuid_)
        if pin is not None and pin.digest is None:
            del self._pins[uuid_]
