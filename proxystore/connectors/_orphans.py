"""Names that say who is writing a temporary file, and orphan detection.

A directory connector writes each object to a temporary file first and
renames it into place. A writer killed mid-write (`SIGKILL`, OOM killer,
power loss) leaves that temporary file behind. To tell such an orphan from a
write still in progress, every temporary name carries a *writer tag*:

    <host>-<pid>-<start>

`host` is a hash of the host name and the PID namespace (so two containers
sharing a directory never mistake each other's PIDs), `pid` the writer's
process ID and `start` the process's start time in clock ticks since boot
(so a recycled PID is not mistaken for the writer). A temporary file is an
orphan when its writer ran on this host and is gone, or, when its writer
cannot be checked from here (another host, or a name without a tag), when it
has not been modified for `STALE_AFTER_S` seconds: a live writer keeps
writing, so its file stays fresh.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time

STALE_AFTER_S = 3600.0
"""Unmodified this long, a temporary file whose writer cannot be checked
from this host is treated as an orphan."""

TAG_PATTERN = (
    r'(?P<host>[0-9a-f]{12})-(?P<pid>[0-9]{1,10})-(?P<start>[0-9]{1,20})'
)
"""Regular expression of a writer tag, with groups `host`, `pid`, `start`."""

_tag: tuple[int, str] | None = None


def _start_time(pid: int) -> str | None:
    """Start time of process `pid` (`'0'` where unknown), `None` if gone."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:  # pragma: no cover
        return '0'
    # Field 22 (starttime); the command name before it may hold spaces.
    fields = stat[stat.rindex(b')') + 2 :].split()
    return fields[19].decode()


def _host() -> str:
    try:
        namespace = os.readlink('/proc/self/ns/pid')
    except OSError:  # pragma: no cover
        namespace = ''
    seed = f'{socket.gethostname()}\0{namespace}'.encode()
    return hashlib.sha256(seed).hexdigest()[:12]


def writer_tag() -> str:
    """The tag of this process (recomputed in a forked child)."""
    global _tag
    pid = os.getpid()
    if _tag is None or _tag[0] != pid:
        start = _start_time(pid) if os.path.isdir('/proc') else '0'
        _tag = (pid, f'{_host()}-{pid}-{start or 0}')
    return _tag[1]


def _alive(pid: int, start: str) -> bool:
    if not os.path.isdir('/proc'):  # pragma: no cover
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    current = _start_time(pid)
    # '0' on either side: the start time is unknown, so trust the PID.
    return current is not None and (
        current == start or '0' in (current, start)
    )


def is_orphan(match: re.Match[str] | None, mtime: float) -> bool:
    """Whether a temporary file was left by a writer that is gone.

    Args:
        match: Match of `TAG_PATTERN` against the file's name, or `None`
            if the name carries no tag.
        mtime: The file's modification time.
    """
    if match is not None and match['host'] == writer_tag().split('-')[0]:
        return not _alive(int(match['pid']), match['start'])
    return time.time() - mtime > STALE_AFTER_S
