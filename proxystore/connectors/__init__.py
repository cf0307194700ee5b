"""Connectors: the byte-level storage layer under a Store."""
