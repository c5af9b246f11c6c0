"""What a test sees of the statements a connection runs."""

import contextlib
from collections.abc import Iterator

from django.db import connections


@contextlib.contextmanager
def statements_made(alias: str) -> Iterator[list[tuple[str, int]]]:
    """The statements run on `alias`'s connection meanwhile, as they are handed to the driver:
    each one's text, with its placeholders, and how many parameters it takes."""
    made: list[tuple[str, int]] = []

    def record(execute, sql, params, many, context):
        made.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connections[alias].execute_wrapper(record):
        yield made
