"""Constants shared by the endpoint server, its clients and storage."""

from __future__ import annotations

MAX_CHUNK_LENGTH = 1_000_000
"""Bytes per HTTP chunk, in both directions (uploads and `/get`)."""

MAX_OBJECT_SIZE_DEFAULT = 100_000_000
"""Default largest blob (bytes) an endpoint accepts."""
