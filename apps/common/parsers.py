"""JSON parsing that refuses what PostgreSQL cannot store: NUL characters and lone
surrogates, in keys or values. Both are valid JSON escapes (`\\u0000`, `\\ud800`), so the
standard parser lets them through to a 500 at the database; here they are a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _bad_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check(value) -> None:
    # Iterative: a deeply nested body must not exhaust the stack.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                raise ParseError("JSON strings may not contain NUL characters or lone surrogates.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check(data)
        return data
