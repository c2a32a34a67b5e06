from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bundles.loader import DEFAULT_DIRECTORY, CatalogueError, load


class Command(BaseCommand):
    help = "Load the bundle catalogue (YAML) into the database; safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", default=str(DEFAULT_DIRECTORY))

    def handle(self, directory, **options):
        try:
            report = load(Path(directory))
        except CatalogueError as exc:
            raise CommandError(str(exc)) from None
        for label in report.created:
            self.stdout.write(f"created {label}")
        for label in report.updated:
            self.stdout.write(f"updated {label}")
        if not report.changed:
            self.stdout.write("catalogue unchanged")
