from django.conf import settings


def locale_normalize(locale: str | None) -> str:
    """ "pt_br" → "pt-BR", "EN" → "en"."""
    if not locale:
        return ""
    language, _, region = locale.replace("_", "-").partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()


def locale_candidates(locale: str | None) -> list[str]:
    """Where a locale falls back to, best first: pt-BR → pt → the default locale."""
    normalised = locale_normalize(locale)
    candidates = [normalised, normalised.partition("-")[0], locale_normalize(settings.NOTIFICATION_DEFAULT_LOCALE)]
    return list(dict.fromkeys(c for c in candidates if c))
