"""Build configuration for the optional C core of `proxystore.proxy`.

Everything else lives in `pyproject.toml`. The extension is optional: on a
machine without a C compiler the build skips it and the package falls back
to the pure-Python proxy.
"""

from setuptools import Extension
from setuptools import setup

setup(
    ext_modules=[
        Extension(
            'proxystore.proxy._cproxy',
            sources=['proxystore/proxy/_cproxy.c'],
            optional=True,
        ),
    ],
)
