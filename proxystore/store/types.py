"""Type aliases and type variables used throughout the Store package."""

from __future__ import annotations

from collections.abc import Callable
from types import EllipsisType
from types import NoneType
from types import NotImplementedType
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from proxystore.utils.buffers import BytesLike

if TYPE_CHECKING:
    from proxystore.connectors.protocols import Connector

ConnectorT = TypeVar('ConnectorT', bound='Connector[Any]')
"""Type of a connector (see `proxystore.connectors.protocols`)."""

ConnectorKeyT = tuple[Any, ...]
"""Type of a key returned by a connector (a small hashable `NamedTuple`)."""

SerializerT = Callable[[Any], BytesLike]
"""Serializer: takes any object and returns a bytes-like object."""

DeserializerT = Callable[[BytesLike], Any]
"""Deserializer: takes a bytes-like object and returns the object."""

NonProxiableT = bool | None | NotImplementedType | EllipsisType
"""Singletons that cannot be proxied (their identity cannot be faked)."""

NON_PROXIABLE_TYPES: frozenset[type] = frozenset(
    (bool, NoneType, NotImplementedType, EllipsisType),
)
"""Runtime counterpart of `NonProxiableT`.

None of these types can be subclassed, so `type(obj) in
NON_PROXIABLE_TYPES` is exact, and unlike `isinstance()` it does not
resolve a proxy passed as `obj`.
"""
