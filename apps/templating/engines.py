"""The template engines notifications render with.

Stored templates come from API clients and admins, so they compile in a sandbox-ish
engine: no loaders (no include/extends of files), only the built-in tags and filters,
and a context of plain dicts (no model instances whose methods a template could call).
File templates under templates/ are the project's own and may include each other.
Text is rendered without autoescaping; HTML with it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Engine, TemplateSyntaxError

_FILE_LOADERS = [("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])]

stored_text = Engine(loaders=[], autoescape=False, debug=True)
stored_html = Engine(loaders=[], autoescape=True, debug=True)
file_text = Engine(dirs=[settings.BASE_DIR / "templates"], loaders=_FILE_LOADERS, autoescape=False, debug=True)
file_html = Engine(dirs=[settings.BASE_DIR / "templates"], loaders=_FILE_LOADERS, autoescape=True, debug=True)


def syntax_error_message(exc: TemplateSyntaxError) -> str:
    info = getattr(exc, "template_debug", None) or {}
    line = info.get("line")
    return f"Line {line}: {exc}" if line else str(exc)


def sources_validate(**sources: str) -> None:
    """Compile each named source; a ValidationError names the field and the line."""
    errors = {}
    for field, source in sources.items():
        engine = stored_html if field == "html" else stored_text
        try:
            engine.from_string(source or "")
        except TemplateSyntaxError as exc:
            errors[field] = [syntax_error_message(exc)]
    if errors:
        raise ValidationError(errors)


_compiled: dict = {}
COMPILED_MAX = 2048


def stored_compiled(version_id: int, field: str, source: str):
    """Compiled once per process: versions never change, so (id, field) is the key;
    the source is compared too, so a database that reuses ids (tests) stays right."""
    cached = _compiled.get((version_id, field))
    if cached is not None and cached[0] == source:
        return cached[1]
    engine = stored_html if field == "html" else stored_text
    template = engine.from_string(source)
    if len(_compiled) >= COMPILED_MAX:
        _compiled.clear()  # crude but bounded; recompiling is cheap
    _compiled[(version_id, field)] = (source, template)
    return template
