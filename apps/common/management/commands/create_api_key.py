from django.core.management.base import BaseCommand, CommandError

from apps.common.models import ApiKeyScope
from apps.common.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a service and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes",
            nargs="*",
            default=None,
            help=f"Any of: {', '.join(ApiKeyScope.values)} (default: all).",
        )

    def handle(self, *args, name, scopes, **options):
        try:
            api_key, raw = api_key_create(name=name, scopes=scopes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"API key '{api_key.name}' with scopes {', '.join(api_key.scopes)}; store it now:")
        self.stdout.write(raw)
