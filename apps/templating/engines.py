"""The template engines notifications render with.

Stored templates come from API clients and admins: they compile in Jinja2's immutable
sandbox with a time and size budget per render (apps.templating.sandbox), see nothing
but plain values (apps.templating.context) and cannot include or extend files.
File templates under templates/ are the project's own: Django templates that may
include each other, with the `safe_link` filter built in.
Text is rendered without autoescaping; HTML with it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Engine
from jinja2 import TemplateSyntaxError

from .sandbox import OperatorTemplateEnvironment

_FILE_LOADERS = [("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])]
_FILE_BUILTINS = ["apps.common.templatetags.links"]

stored_text = OperatorTemplateEnvironment(autoescape=False)
stored_html = OperatorTemplateEnvironment(autoescape=True)
file_text = Engine(
    dirs=[settings.BASE_DIR / "templates"], loaders=_FILE_LOADERS, autoescape=False, debug=True, builtins=_FILE_BUILTINS
)
file_html = Engine(
    dirs=[settings.BASE_DIR / "templates"], loaders=_FILE_LOADERS, autoescape=True, debug=True, builtins=_FILE_BUILTINS
)


def syntax_error_message(exc: TemplateSyntaxError) -> str:
    return f"Line {exc.lineno}: {exc.message}" if exc.lineno else str(exc.message)


def _environment(field: str) -> OperatorTemplateEnvironment:
    return stored_html if field == "html" else stored_text


def sources_validate(**sources: str) -> None:
    """Compile each named source; a ValidationError names the field and the line."""
    errors = {}
    for field, source in sources.items():
        try:
            _environment(field).from_string(source or "")
        except TemplateSyntaxError as exc:
            errors[field] = [syntax_error_message(exc)]
        except (RecursionError, SyntaxError, MemoryError):
            # Thousands of nested brackets or blocks: the parser or Python's compiler gives up.
            errors[field] = ["Nested too deeply to compile."]
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
    template = _environment(field).from_string(source)
    if len(_compiled) >= COMPILED_MAX:
        _compiled.clear()  # crude but bounded; recompiling is cheap
    _compiled[(version_id, field)] = (source, template)
    return template
