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
import logging
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import TypeAlias
from typing import TypedDict
from typing import cast

from typing_extensions import Buffer

from proxystore import utils
from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import ConnectorBytes
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.connectors.registry import get_connector_type
from proxystore.utils.closing import CloseOnExit
from proxystore.utils.imports import get_object_path

__all__ = [
    'ConnectorPolicyConfig',
    'MultiConnector',
    'MultiConnectorError',
    'MultiKey',
    'Policy',
    'PolicyDict',
]

logger = logging.getLogger(__name__)


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


class PolicyDict(TypedDict):
    """A `Policy` as a dictionary (`Policy.as_dict()`; `Policy(**d)`)."""

    priority: int
    host_pattern: list[str] | str | None
    min_size_bytes: int
    max_size_bytes: int
    subset_tags: list[str]
    superset_tags: list[str]


ConnectorPolicyConfig: TypeAlias = tuple[str, dict[str, Any], PolicyDict]
"""One child in `MultiConnector.config()`: the dotted path of the
connector class, the connector's `config()`, and its policy as a dict."""


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
        """Check whether an object with these properties is admissible here.

        This includes the host check (`is_valid_on_host()`).

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
        if superset_tags is not None and not set(superset_tags).issuperset(
            self.superset_tags,
        ):
            return False
        return self.is_valid_on_host()

    def is_valid_on_host(self) -> bool:
        """Check whether this host's name fully matches `host_pattern`.

        The hostname is looked up on each call with
        `proxystore.utils.hostname()`.
        """
        if self.host_pattern is None:
            return True
        name = utils.hostname()
        return any(
            re.fullmatch(pattern, name) is not None
            for pattern in _patterns(self.host_pattern)
        )

    def as_dict(self) -> PolicyDict:
        """Return the policy as a plain dictionary (`Policy(**d)` rebuilds)."""
        return cast(PolicyDict, dataclasses.asdict(self))


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


class _ConnectorPolicy(NamedTuple):
    connector: Connector[Any]
    policy: Policy


class MultiConnector(CloseOnExit):
    """Connector that routes objects to one of several child connectors.

    Args:
        connectors: Open child connectors by name, each with its policy.
            New objects only go to children whose policy matches this host
            (checked on each call); existing keys of every child can be
            used.
        dormant_connectors: Children known but not opened on this host,
            by name, as entries of `config()`
            (`(connector_path, connector_config, policy_dict)`). Their keys
            can be passed around, but using them here raises
            `MultiConnectorError`.

    Attributes:
        connectors: The open children by name, each a named tuple
            `(connector, policy)`.
        dormant_connectors: The dormant children's configurations by name.
        connectors_by_priority: Names of the open children, highest
            priority first (ties keep the given order).

    Raises:
        ValueError: If a name is given both as active and dormant.
    """

    def __init__(
        self,
        connectors: dict[str, tuple[Connector[Any], Policy]],
        dormant_connectors: dict[str, ConnectorPolicyConfig] | None = None,
    ) -> None:
        dormant = dict(dormant_connectors or {})
        overlap = set(connectors) & set(dormant)
        if overlap:
            raise ValueError(
                f'Connector names {sorted(overlap)} are both active and '
                'dormant.',
            )
        self.connectors: dict[str, _ConnectorPolicy] = {
            name: _ConnectorPolicy(connector, policy)
            for name, (connector, policy) in connectors.items()
        }
        self.dormant_connectors: dict[str, ConnectorPolicyConfig] = dormant
        # sorted() is stable (also with reverse=True): ties keep the order.
        self.connectors_by_priority: list[str] = sorted(
            self.connectors,
            key=lambda name: self.connectors[name].policy.priority,
            reverse=True,
        )
        logger.info('Initialized %r', self)

    def __repr__(self) -> str:
        active = ', '.join(
            f'{name}={child.connector!r}'
            for name, child in self.connectors.items()
        )
        return f'{type(self).__name__}({active})'

    def close(self) -> None:
        """Close every active child connector.

        Every child is closed even if closing one fails; the first error
        is raised afterwards.
        """
        errors: list[Exception] = []
        for child in self.connectors.values():
            try:
                child.connector.close()
            except Exception as e:
                errors.append(e)
        logger.info('Closed %r', self)
        if errors:
            raise errors[0]

    def config(self) -> dict[str, ConnectorPolicyConfig]:
        """Get the configuration of the whole router.

        Returns:
            Every child by name, dormant children included, as
            `(connector_path, connector_config, policy_dict)`, so another
            process (on another host) can rebuild the router and open the
            children its host allows.
        """
        config: dict[str, ConnectorPolicyConfig] = {
            name: (
                get_object_path(type(child.connector)),
                child.connector.config(),
                child.policy.as_dict(),
            )
            for name, child in self.connectors.items()
        }
        config.update(self.dormant_connectors)
        return config

    @classmethod
    def from_config(
        cls,
        config: dict[str, ConnectorPolicyConfig],
    ) -> MultiConnector:
        """Rebuild a router from `config()`, opening this host's children.

        A child whose policy does not match this host stays dormant (it is
        not built).

        Raises:
            ValueError: If an entry is not a
                `(connector_path, connector_config, policy_dict)` triple
                or names an unknown connector type.
        """
        active: dict[str, tuple[Connector[Any], Policy]] = {}
        dormant: dict[str, ConnectorPolicyConfig] = {}
        for name, entry in config.items():
            if not isinstance(entry, Sequence) or len(entry) != 3:
                raise ValueError(
                    f'MultiConnector config entry {name!r} must be a '
                    '(connector_path, connector_config, policy_dict) '
                    f'triple. Got {entry!r}.',
                )
            path, options, policy_dict = entry
            policy = Policy(**policy_dict)
            if policy.is_valid_on_host():
                connector_type = get_connector_type(path)
                active[name] = (connector_type.from_config(options), policy)
            else:
                dormant[name] = entry
        return cls(active, dormant_connectors=dormant)

    def _connector(self, key: MultiKey) -> Connector[Any]:
        try:
            return self.connectors[key.connector_name].connector
        except KeyError:
            pass
        if key.connector_name in self.dormant_connectors:
            raise MultiConnectorError(
                f'The connector associated with {key} is dormant: its '
                'policy does not match this host.',
            )
        raise MultiConnectorError(
            f'The connector which created {key} does not exist. This '
            f'MultiConnector has {sorted(self.connectors)}.',
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
        for name in self.connectors_by_priority:
            connector, policy = self.connectors[name]
            if deferrable and not isinstance(connector, DeferrableConnector):
                continue
            if policy.is_valid(
                size_bytes=size_bytes,
                subset_tags=subset_tags,
                superset_tags=superset_tags,
            ):
                return name
        policies = {
            name: child.policy.as_dict()
            for name, child in self.connectors.items()
        }
        raise MultiConnectorError(
            'No connector policy was suitable for the constraints: '
            f'size_bytes={size_bytes}, subset_tags={subset_tags}, '
            f'superset_tags={superset_tags}'
            f'{", deferrable=True" if deferrable else ""}. '
            f'Policies: {policies}.',
        )

    def evict(self, key: MultiKey) -> None:
        """Evict the object associated with the key (no-op if missing)."""
        self._connector(key).evict(key.connector_key)
        logger.debug('EVICT %s', key)

    def exists(self, key: MultiKey) -> bool:
        """Check whether an object is associated with the key."""
        found = self._connector(key).exists(key.connector_key)
        logger.debug('EXISTS %s: %s', key, found)
        return found

    def get(self, key: MultiKey) -> ConnectorBytes | None:
        """Get the serialized object associated with the key."""
        data = self._connector(key).get(key.connector_key)
        logger.debug('GET %s (found=%s)', key, data is not None)
        return data

    def get_batch(
        self,
        keys: Sequence[MultiKey],
    ) -> list[ConnectorBytes | None]:
        """Get a batch of objects: one batch call per child connector."""
        results: list[ConnectorBytes | None] = [None] * len(keys)
        for _, positions in _group(k.connector_name for k in keys):
            connector = self._connector(keys[positions[0]])
            objs = connector.get_batch(
                [keys[i].connector_key for i in positions]
            )
            for i, obj in zip(positions, objs, strict=True):
                results[i] = obj
        logger.debug('GET_BATCH %d keys', len(keys))
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
        key = MultiKey(name, self.connectors[name].connector.put(obj))
        logger.debug('PUT %s', key)
        return key

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
                connector = self.connectors[name].connector
                child_keys = connector.put_batch([objs[i] for i in positions])
                for i, child_key in zip(positions, child_keys, strict=True):
                    keys[i] = MultiKey(name, child_key)
        except BaseException:
            # Whoever called us never sees these keys: do not leak them.
            for key in keys.values():
                self.evict(key)
            raise
        logger.debug('PUT_BATCH %d keys', len(objs))
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
        connector = cast(
            DeferrableConnector[Any],
            self.connectors[name].connector,
        )
        return MultiKey(name, connector.new_key(obj))

    def set(self, key: MultiKey, obj: Buffer) -> None:
        """Associate an object with a key from `new_key()`."""
        connector = self._connector(key)
        if not isinstance(connector, DeferrableConnector):
            raise MultiConnectorError(
                f'The connector associated with {key} does not support set().',
            )
        connector.set(key.connector_key, obj)
        logger.debug('SET %s', key)


def _group(names: Iterable[str]) -> list[tuple[str, list[int]]]:
    """Positions of each distinct name, in order of first appearance."""
    positions: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        positions[name].append(i)
    return list(positions.items())
