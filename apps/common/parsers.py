"""The one JSON parser of request bodies: every API view (DRF's parser class) and every
plain Django view that reads JSON (provider callbacks) goes through `json_body_parse`,
so a body the service cannot handle is a 400 in the envelope, never a 500.

What it refuses, and why:
- bytes that are not UTF-8 (RFC 8259 § 8.1: JSON between systems is UTF-8; a charset
  parameter naming anything else is ignored) and a byte order mark;
- nesting deeper than JSON_MAX_DEPTH: `[` × 20,000 used to exhaust the recursion limit
  inside the standard parser (a RecursionError, so a 500), and anything nested that
  deep would exhaust it again later when the value is serialised for the database;
- NaN, Infinity and numbers too large for a double (`1e400` is read as infinity):
  PostgreSQL's jsonb stores none of them;
- integers outside the signed 64-bit range, the widest column the service has (and
  wider than a JavaScript client can represent anyway);
- duplicate keys in one object: parsers disagree about which one wins (first, last,
  error), so a body that means two things to two readers is refused outright;
- NUL characters and lone surrogates in strings and keys: valid JSON escapes
  (`\\u0000`, `\\ud800`) that PostgreSQL cannot store.
"""

import json
import math

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

INT64_MAX = 2**63 - 1


def _refuse_constant(name: str):
    raise ParseError(f"JSON parse error - {name} is not a number JSON allows.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError("JSON parse error - a number is too large.")
    return value


def _bounded_int(text: str) -> int:
    # Python's own limit (4,300 digits) bounds the work; the range check bounds the value.
    value = int(text)
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ParseError("JSON parse error - an integer is outside the signed 64-bit range.")
    return value


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ParseError(f"JSON parse error - the key {duplicate!r} appears twice in one object.")
    return value


def _bad_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check(value, max_depth: int) -> None:
    # Iterative, so that checking a nested body cannot exhaust the stack either.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                raise ParseError("JSON strings may not contain NUL characters or lone surrogates.")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise ParseError(f"JSON parse error - nested deeper than {max_depth} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def json_body_parse(raw: bytes):
    """The value of a JSON request body, or ParseError (a 400 in the envelope)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("JSON parse error - the body is not UTF-8.") from exc
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_object_without_duplicates,
        )
    except RecursionError as exc:
        raise ParseError(f"JSON parse error - nested deeper than {settings.JSON_MAX_DEPTH} levels.") from exc
    except ValueError as exc:  # JSONDecodeError, and int() past Python's digit limit
        raise ParseError(f"JSON parse error - {exc}") from exc
    _check(value, settings.JSON_MAX_DEPTH)
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # The middleware has already bounded the body's size (RequestBodyLimitMiddleware).
        return json_body_parse(stream.read() if stream is not None else b"")
