from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forms_app.design.importer import MAX_UPLOAD_BYTES, ImportRefused, parse_upload
from forms_app.design.services import import_questionnaire
from forms_app.management.commands._design import organisation_named, write_report


class Command(BaseCommand):
    help = ("Import a FHIR R4 Questionnaire JSON file as a new draft form, and print what "
            "could not be represented, by item.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--organisation", required=True, help="Its exact name, or id.")

    def handle(self, *args, path, organisation, **options):
        organisation = organisation_named(organisation)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_UPLOAD_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
        try:
            data = parse_upload(raw)
        except ImportRefused as refusal:
            raise CommandError(f"{path.name}: {refusal} Nothing was imported.") from None
        imported = import_questionnaire(data=data, organisation=organisation, by="system",
                                        source=path.name)
        write_report(self, imported)
