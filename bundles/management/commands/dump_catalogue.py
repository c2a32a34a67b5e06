from pathlib import Path

from django.core.management.base import BaseCommand

from bundles.loader import dump


class Command(BaseCommand):
    help = "Write the database's bundle catalogue as YAML (the format load_catalogue reads)."

    def add_arguments(self, parser):
        parser.add_argument(
            "directory", help="where to write; e.g. bundles/catalogue to keep it in git"
        )

    def handle(self, directory, **options):
        for path in dump(Path(directory)):
            self.stdout.write(f"wrote {path}")
