"""Globus Auth and Transfer for ProxyStore.

* [`app`][proxystore.globus.app]: the Globus apps that hold ProxyStore's
  tokens (a user's native-app login or a client's credentials) and the
  token storage under the ProxyStore home.
* [`client`][proxystore.globus.client]: Auth and Transfer clients built
  from those apps.
* [`scopes`][proxystore.globus.scopes]: the scopes ProxyStore asks for.
* [`cli`][proxystore.globus.cli]: the `proxystore-globus-auth` command.
* [`constants`][proxystore.globus.constants]: client IDs and names that
  need no third-party package.

All modules except `constants` need the `globus-sdk` package
(`pip install 'proxystore[globus]'`).
"""
