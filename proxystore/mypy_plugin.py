"""A mypy plugin that type-checks a `Proxy[T]` as the `T` it stands for.

A proxy forwards attribute access to its target at runtime, but to mypy a
`Proxy[T]` only has the proxy's own attributes. With this plugin, an
attribute that mypy cannot find on a proxy type (`Proxy`, the reference
proxies of `proxystore.store.ref`, and their subclasses) gets the type it
has on `T`, so `proxy.upper()` type-checks for a `Proxy[str]` and a
misspelled name is reported as on `T` itself (`"str" has no attribute
"uper"  [attr-defined]`).

Enable it in the mypy configuration, e.g. in `pyproject.toml`:

```toml
[tool.mypy]
plugins = ["proxystore.mypy_plugin"]
```
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mypy.checkmember import analyze_member_access
from mypy.maptype import map_instance_to_supertype
from mypy.plugin import AttributeContext
from mypy.plugin import Plugin
from mypy.types import AnyType
from mypy.types import Instance
from mypy.types import Type
from mypy.types import TypeOfAny
from mypy.types import TypeVarLikeType
from mypy.types import get_proper_type

PROXY_TYPES = (
    'proxystore.proxy.Proxy',
    'proxystore.store.ref.BaseRefProxy',
    'proxystore.store.ref.OwnedProxy',
    'proxystore.store.ref.RefProxy',
    'proxystore.store.ref.RefMutProxy',
)
"""Full names of the proxy types whose missing attributes come from `T`."""

_INTERNAL_PREFIXES = ('proxystore.proxy.', 'proxystore.store.ref.')
"""Modules whose classes make up the proxy types (their bases included)."""


def _is_proxy_class(fullname: str) -> bool:
    return fullname in PROXY_TYPES or fullname.startswith(_INTERNAL_PREFIXES)


def _proxy_base(instance: Instance) -> Instance | None:
    """`instance` seen as its first generic proxy class (`Proxy[T]`)."""
    for info in instance.type.mro:
        if _is_proxy_class(info.fullname) and len(info.defn.type_vars) > 0:
            return map_instance_to_supertype(instance, info)
    return None


def proxy_attribute_access(ctx: AttributeContext, *, attr: str) -> Type:
    """Type of attribute `attr` of a proxy: its type on the proxy's target.

    Args:
        ctx: The attribute context mypy gives the hook.
        attr: Name of the attribute.

    Returns:
        The type of `attr` on the type argument `T` of `Proxy[T]`; the
        default type if `T` is a type variable or the type is not a proxy;
        `Any` if mypy's internals fail in an unexpected way.
    """
    try:
        return _attribute_type(ctx, attr)
    except AssertionError:  # pragma: no cover (defensive)
        return AnyType(TypeOfAny.implementation_artifact)


def _attribute_type(ctx: AttributeContext, attr: str) -> Type:
    proxy_type = get_proper_type(ctx.type)
    if not isinstance(proxy_type, Instance) or proxy_type.type.get(attr):
        # Not a proxy, or an attribute of the proxy itself.
        return ctx.default_attr_type
    base = _proxy_base(proxy_type)
    if base is None or len(base.args) == 0:
        return ctx.default_attr_type
    target = get_proper_type(base.args[0])
    if isinstance(target, TypeVarLikeType):
        return ctx.default_attr_type
    checker: Any = ctx.api
    return analyze_member_access(
        attr,
        target,
        ctx.context,
        is_lvalue=ctx.is_lvalue,
        is_super=False,
        is_operator=False,
        original_type=target,
        chk=checker,
    )


class ProxyStoreMypyPlugin(Plugin):
    """Give missing attributes of proxy types the type they have on `T`."""

    def get_attribute_hook(
        self,
        fullname: str,
    ) -> Callable[[AttributeContext], Type] | None:
        """Return the hook for attributes of the proxy types."""
        # mypy names the class that defines `__getattr__` (a proxy type or
        # one of its bases); the hook itself checks the instance's type.
        owner, _, attr = fullname.rpartition('.')
        if _is_proxy_class(owner):
            return functools.partial(proxy_attribute_access, attr=attr)
        return None


def plugin(version: str) -> type[ProxyStoreMypyPlugin]:
    """Entry point mypy calls to load the plugin.

    Args:
        version: The mypy version (any version is accepted).
    """
    return ProxyStoreMypyPlugin
