"""Helpers shared by test modules (never test modules or conftests).

* `tests.helpers.docs`: the fenced code blocks of the README and `docs/`.
* `tests.helpers.scripts`: run code in a fresh interpreter.
* `tests.helpers.files`: what a File store holds.
* `tests.helpers.connectors`: key operations and killed writers.
* `tests.helpers.processes`: processes that are killed on the way out.
"""
