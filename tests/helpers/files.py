"""What a store backed by a `FileConnector` holds."""

from __future__ import annotations

import os
from typing import Any


def stored_files(store: Any) -> list[str]:
    """Names of the files in a File store's directory, sorted.

    One file per stored object (a temporary file while one is written).
    """
    return sorted(os.listdir(store.connector.store_dir))
