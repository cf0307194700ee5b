"""Facts about the host and the user's environment."""

from __future__ import annotations

import os
import pathlib
import socket

HOME_DIR_ENV = 'PROXYSTORE_HOME'
"""Environment variable that overrides the ProxyStore home directory."""


def hostname() -> str:
    """Return the hostname of this machine."""
    return socket.gethostname()


def home_dir() -> str:
    """Return the ProxyStore home directory.

    The first of these that is set wins: `$PROXYSTORE_HOME`,
    `$XDG_DATA_HOME/proxystore`, `~/.local/share/proxystore`.
    The directory is not created.
    """
    explicit = os.environ.get(HOME_DIR_ENV)
    if explicit:
        return str(pathlib.Path(explicit).expanduser().resolve())
    xdg = os.environ.get('XDG_DATA_HOME')
    base = (
        pathlib.Path(xdg).expanduser()
        if xdg
        else pathlib.Path.home() / '.local' / 'share'
    )
    return str((base / 'proxystore').resolve())
