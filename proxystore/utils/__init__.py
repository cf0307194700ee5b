"""Small utilities shared across ProxyStore."""
