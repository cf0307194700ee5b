"""Multi-connector: route each object to the best of several connectors.

Every child connector comes with a
[`Policy`][proxystore.connectors.multi.Policy] saying which objects it
accepts (size bounds, tags) and on which hosts it is usable. `put` sends
an object to the highest-priority connector whose policy admits it; the
returned [`MultiKey`][proxystore.connectors.multi.MultiKey] remembers
which child holds the object.

Example:
    ```python
    from proxystore.connectors.file import FileConnector
    from proxystore.connectors.local import LocalConnector
    from proxystore.connectors.multi import MultiConnector
    from proxystore.connectors.multi import Policy

    connector = MultiConnector(
        {
            'small': (LocalConnector(), Policy(max_size_bytes=1000)),
            'large': (FileConnector('/tmp/data'), Policy(priority=-1)),
        },
    )
    key = connector.put(b'tiny')  # stored by the local connector
    ```
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import cast

from typing_extensions import Buffer

from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import ConnectorBytes
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.utils.closing import CloseOnExit
from proxystore.utils.environment import hostname

__all__ = [
    'MultiConnector',
    'MultiConnectorError',
    'MultiKey',
    'Policy',
]


class MultiConnectorError(Exception):
    """No connector can take an object, or a key names an unusable one."""


class MultiKey(NamedTuple):
    """Key to an object stored by one of a `MultiConnector`'s children.

    Attributes:
        connector_name: Name of the child connector holding the object.
        connector_key: The child connector's key of the object.
    """

    connector_name: str
    connector_key: Any


@dataclasses.dataclass
class Policy:
    """Which objects a connector accepts, and where it can be used.

    Attributes:
        priority: Among admissible connectors, the highest priority wins
            (ties go to the connector listed first).
        host_pattern: Regular expression(s) a hostname must fully match
            for the connector to be used on that host; `None` allows
            every host.
        min_size_bytes: Smallest accepted object size.
        max_size_bytes: Largest accepted object size.
        subset_tags: Tags given to `put(subset_tags=...)` must all be
            among these.
        superset_tags: Tags given to `put(superset_tags=...)` must include
            all of these.
    """

    priority: int = 0
    host_pattern: str | list[str] | None = None
    min_size_bytes: int = 0
    max_size_bytes: int = sys.maxsize
    subset_tags: list[str] = dataclasses.field(default_factory=list)
    superset_tags: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.min_size_bytes < 0 or self.max_size_bytes < 0:
            raise ValueError('Policy size bounds must not be negative.')
        if self.min_size_bytes > self.max_size_bytes:
            raise ValueError(
                f'Policy min_size_bytes ({self.min_size_bytes}) exceeds '
                f'max_size_bytes ({self.max_size_bytes}).',
            )
        for pattern in _patterns(self.host_pattern):
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(
                    f'Invalid Policy host_pattern {pattern!r}: {e}',
                ) from e
        for field in ('subset_tags', 'superset_tags'):
            tags = getattr(self, field)
            if isinstance(tags, str):
                raise ValueError(
                    f'Policy {field} must be a list of tags, not the '
                    f'string {tags!r}.',
                )
            setattr(self, field, list(tags))

    def is_valid(
        self,
        *,
        size_bytes: int | None = None,
        subset_tags: Iterable[str] | None = None,
        superset_tags: Iterable[str] | None = None,
    ) -> bool:
        """Check whether an object with these properties is admissible.

        Args:
            size_bytes: Object size; not checked if `None`.
            subset_tags: Tags that must all be in the policy's
                `subset_tags`.
            superset_tags: Tags that must include all of the policy's
                `superset_tags`.
        """
        if size_bytes is not None and not (
            self.min_size_bytes <= size_bytes <= self.max_size_bytes
        ):
            return False
        if subset_tags is not None and not set(subset_tags).issubset(
            self.subset_tags,
        ):
            return False
        return superset_tags is None or set(superset_tags).issuperset(
            self.superset_tags,
        )

    def is_valid_on_host(self) -> bool:
        """Check whether this host's name matches `host_pattern`."""
        if self.host_pattern is None:
            return True
        name = hostname()
        return any(
            re.fullmatch(pattern, name) is not None
            for pattern in _patterns(self.host_pattern)
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the policy as a plain dictionary (`Policy(**d)` rebuilds)."""
        return dataclasses.asdict(self)


def _patterns(host_pattern: str | list[str] | None) -> list[str]:
    if host_pattern is None:
        return []
    if isinstance(host_pattern, str):
        return [host_pattern]
    return list(host_pattern)


def _size(obj: Buffer | Sequence[Buffer]) -> int:
    if isinstance(obj, (list, tuple)):
        return sum(_size(part) for part in obj)
    try:
        return memoryview(obj).nbytes  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            'MultiConnector stores bytes-like objects, not '
            f'{type(obj).__name__}.',
        ) from None


class MultiConnector(CloseOnExit):
    """Connector that routes objects to one of several child connectors.

    Args:
        connectors: Open child connectors by name, each with its policy.
            New objects only go to children whose `host_pattern` matches
            this host; existing keys of every child can be used.
        dormant_connectors: Children known but not opened on this host, as
            entries of `config()['connectors']` (`kind`, `options`,
            `policy`). Their keys can be passed around, but using them
            here raises `MultiConnectorError`.

    Raises:
        ValueError: If a name is given both as active and dormant.
    """

    def __init__(
        self,
        connectors: dict[str, tuple[Connector[Any], Policy]],
        dormant_connectors: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        dormant = dict(dormant_connectors or {})
        overlap = set(connectors) & set(dormant)
        if overlap:
            raise ValueError(
                f'Connector names {sorted(overlap)} are both active and '
                'dormant.',
            )
        self._connectors = {name: pair[0] for name, pair in connectors.items()}
        self._policies = {name: pair[1] for name, pair in connectors.items()}
        self._dormant = dormant
        # Objects go to the children usable on this host, highest priority
        # first; sorted() is stable, so ties keep the given order.
        self._order = sorted(
            (
                name
                for name, policy in self._policies.items()
                if policy.is_valid_on_host()
            ),
            key=lambda name: -self._policies[name].priority,
        )

    def __repr__(self) -> str:
        active = ', '.join(
            f'{name}={connector!r}'
            for name, connector in self._connectors.items()
        )
        return f'{type(self).__name__}({active})'

    def close(self) -> None:
        """Close every active child connector.

        Every child is closed even if closing one fails; the first error
        is raised afterwards.
        """
        errors: list[Exception] = []
        for connector in self._connectors.values():
            try:
                connector.close()
            except Exception as e:
                errors.append(e)
        if errors:
            raise errors[0]

    def config(self) -> dict[str, Any]:
        """Get the configuration of the whole router.

        Each child appears under `connectors` as `kind` and `options` (the
        fields of a `ConnectorConfig`) plus its `policy`, dormant children
        included, so another process (on another host) can rebuild the
        router and open the children its host allows.
        """
        entries = {
            name: _entry(connector, self._policies[name])
            for name, connector in self._connectors.items()
        }
        return {'connectors': {**entries, **self._dormant}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MultiConnector:
        """Rebuild a router from `config()`, opening this host's children."""
        from proxystore.store.config import ConnectorConfig

        active: dict[str, tuple[Connector[Any], Policy]] = {}
        dormant: dict[str, dict[str, Any]] = {}
        for name, entry in config['connectors'].items():
            policy = Policy(**entry['policy'])
            if policy.is_valid_on_host():
                child = ConnectorConfig(
                    kind=entry['kind'],
                    options=entry['options'],
                )
                active[name] = (child.get_connector(), policy)
            else:
                dormant[name] = entry
        return cls(active, dormant_connectors=dormant)

    def _connector(self, name: str) -> Connector[Any]:
        try:
            return self._connectors[name]
        except KeyError:
            pass
        if name in self._dormant:
            raise MultiConnectorError(
                f'Connector {name!r} is dormant on this host: its policy '
                'does not match this hostname.',
            )
        raise MultiConnectorError(
            f'Unknown connector {name!r}; this MultiConnector has '
            f'{sorted(self._connectors)}.',
        )

    def _route(
        self,
        size_bytes: int | None,
        subset_tags: Iterable[str],
        superset_tags: Iterable[str],
        *,
        deferrable: bool = False,
    ) -> str:
        """Name of the highest-priority child admitting the object."""
        subset_tags, superset_tags = list(subset_tags), list(superset_tags)
        for name in self._order:
            if deferrable and not isinstance(
                self._connectors[name],
                DeferrableConnector,
            ):
                continue
            if self._policies[name].is_valid(
                size_bytes=size_bytes,
                subset_tags=subset_tags,
                superset_tags=superset_tags,
            ):
                return name
        raise MultiConnectorError(
            f'No connector admits an object of {size_bytes} bytes with '
            f'subset_tags={subset_tags} and '
            f'superset_tags={superset_tags}; policies: '
            f'{ {n: p.as_dict() for n, p in self._policies.items()} }.',
        )

    def evict(self, key: MultiKey) -> None:
        """Evict the object associated with the key (no-op if missing)."""
        self._connector(key.connector_name).evict(key.connector_key)

    def exists(self, key: MultiKey) -> bool:
        """Check whether an object is associated with the key."""
        return self._connector(key.connector_name).exists(key.connector_key)

    def get(self, key: MultiKey) -> ConnectorBytes | None:
        """Get the serialized object associated with the key."""
        return self._connector(key.connector_name).get(key.connector_key)

    def get_batch(
        self,
        keys: Sequence[MultiKey],
    ) -> list[ConnectorBytes | None]:
        """Get a batch of objects: one batch call per child connector."""
        results: list[ConnectorBytes | None] = [None] * len(keys)
        for name, positions in _group(k.connector_name for k in keys):
            connector = self._connector(name)
            objs = connector.get_batch(
                [keys[i].connector_key for i in positions]
            )
            for i, obj in zip(positions, objs, strict=True):
                results[i] = obj
        return results

    def put(
        self,
        obj: Buffer,
        subset_tags: Iterable[str] = (),
        superset_tags: Iterable[str] = (),
    ) -> MultiKey:
        """Put an object in the highest-priority admissible connector.

        Raises:
            MultiConnectorError: If no connector admits the object.
        """
        name = self._route(_size(obj), subset_tags, superset_tags)
        return MultiKey(name, self._connectors[name].put(obj))

    def put_batch(
        self,
        objs: Sequence[Buffer],
        subset_tags: Iterable[str] = (),
        superset_tags: Iterable[str] = (),
    ) -> list[MultiKey]:
        """Put a batch of objects: one batch call per chosen connector.

        Every object is routed before anything is stored, so an object no
        connector admits stores nothing.

        Raises:
            MultiConnectorError: If no connector admits one of the objects.
        """
        subset_tags, superset_tags = list(subset_tags), list(superset_tags)
        names = [
            self._route(_size(obj), subset_tags, superset_tags) for obj in objs
        ]
        keys: dict[int, MultiKey] = {}
        try:
            for name, positions in _group(names):
                connector = self._connectors[name]
                child_keys = connector.put_batch([objs[i] for i in positions])
                for i, child_key in zip(positions, child_keys, strict=True):
                    keys[i] = MultiKey(name, child_key)
        except BaseException:
            # Whoever called us never sees these keys: do not leak them.
            for key in keys.values():
                self.evict(key)
            raise
        return [keys[i] for i in range(len(objs))]

    def new_key(
        self,
        obj: Buffer | None = None,
        subset_tags: Iterable[str] = (),
        superset_tags: Iterable[str] = (),
    ) -> MultiKey:
        """Create a key in the best admissible deferrable connector.

        Args:
            obj: Object the key will be associated with; its size is used
                for routing if given.
            subset_tags: As for `put`.
            superset_tags: As for `put`.

        Raises:
            MultiConnectorError: If no deferrable connector admits it.
        """
        size = None if obj is None else _size(obj)
        name = self._route(size, subset_tags, superset_tags, deferrable=True)
        # _route(deferrable=True) only picks DeferrableConnectors.
        connector = cast(DeferrableConnector[Any], self._connectors[name])
        return MultiKey(name, connector.new_key(obj))

    def set(self, key: MultiKey, obj: Buffer) -> None:
        """Associate an object with a key from `new_key()`."""
        connector = self._connector(key.connector_name)
        if not isinstance(connector, DeferrableConnector):
            raise MultiConnectorError(
                f'Connector {key.connector_name!r} does not support set().',
            )
        connector.set(key.connector_key, obj)


def _entry(connector: Connector[Any], policy: Policy) -> dict[str, Any]:
    # Imported here: the store package is heavy and imports connectors.
    from proxystore.store.config import connector_kind

    return {
        'kind': connector_kind(type(connector)),
        'options': connector.config(),
        'policy': policy.as_dict(),
    }


def _group(names: Iterable[str]) -> list[tuple[str, list[int]]]:
    """Positions of each distinct name, in order of first appearance."""
    positions: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        positions[name].append(i)
    return list(positions.items())
