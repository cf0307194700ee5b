"""Direct access to the C-level slots of the proxy base class.

The base is `lazy_object_proxy.cext.Proxy`, whose C slots forward every
special method to the target without Python-level code. These accessors
read and write its `wrapped` and `factory` slots without going through
attribute lookup on the proxy (which forwards to the target).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lazy_object_proxy.cext import Proxy as CProxy

_wrapped = CProxy.__dict__['__wrapped__']

# Returns the target, calling the C factory slot first if it is empty.
get_target: Callable[[Any], Any] = _wrapped.__get__
set_target: Callable[[Any, Any], None] = _wrapped.__set__
clear_target: Callable[[Any], None] = _wrapped.__delete__
# True when the target slot is filled; never resolves.
has_target: Callable[[Any], bool] = CProxy.__dict__['__resolved__'].__get__
set_c_factory: Callable[[Any, Any], None] = CProxy.__dict__[
    '__factory__'
].__set__
# `getattr(get_target(proxy), name)` in one C call (resolves if needed).
get_target_attr: Callable[[Any, str], Any] = CProxy.__getattr__
# Stores into the proxy itself a name that its type defines (a slot or a
# property); `object.__setattr__` refuses to skip the C base's setattr.
set_own_attr: Callable[[Any, str, Any], None] = CProxy.__setattr__
del_own_attr: Callable[[Any, str], None] = CProxy.__delattr__

__all__ = [
    'CProxy',
    'clear_target',
    'del_own_attr',
    'get_target_attr',
    'get_target',
    'has_target',
    'set_c_factory',
    'set_own_attr',
    'set_target',
]
