"""Test helpers shipped with ProxyStore, for authors of extensions.

[`proxystore.testing.connectors`][proxystore.testing.connectors] holds the
test suite every ProxyStore connector passes; a third-party connector runs
it by subclassing `ConnectorSuite` in its own tests. These modules need
`pytest`.
"""
