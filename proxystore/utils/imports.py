"""Import objects by their dotted paths, and name objects by their paths."""

from __future__ import annotations

import importlib
from typing import Any


def get_object_path(obj: Any) -> str:
    """Return the dotted path of a class or function.

    The path is `f'{obj.__module__}.{obj.__qualname__}'`; no check is
    made that importing it gives back `obj` (lambdas and nested functions
    have paths that cannot be imported).

    Example:
        ```python
        >>> from proxystore.connectors.local import LocalConnector
        >>> get_object_path(LocalConnector)
        'proxystore.connectors.local.LocalConnector'
        ```

    Args:
        obj: Object with `__module__` and `__qualname__` attributes.

    Returns:
        The dotted path of `obj`.
    """
    return f'{obj.__module__}.{obj.__qualname__}'


def import_from_path(path: str) -> Any:
    """Import the object named by a dotted path.

    The last component is an attribute of the module named by the rest
    (`package.module.Name`). Attributes of classes also work
    (`package.module.Class.method`).

    Example:
        ```python
        >>> import_from_path('proxystore.connectors.local.LocalConnector')
        <class 'proxystore.connectors.local.LocalConnector'>
        ```

    Args:
        path: Dotted path of the object.

    Returns:
        The imported object.

    Raises:
        ImportError: If `path` has no module part, or the module cannot be
            imported.
        AttributeError: If the module has no such attribute.
    """
    module_path, _, name = path.rpartition('.')
    if len(module_path) == 0:
        raise ImportError(
            f'Object path must contain at least one module. Got {path}',
        )
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as e:
        # `module_path` itself may be a class inside a module
        # (`package.module.Class.method`): look the parent up instead.
        if e.name != module_path or '.' not in module_path:
            raise
        try:
            parent = import_from_path(module_path)
        except (ImportError, AttributeError):
            raise e from None
        return getattr(parent, name)
    return getattr(module, name)
