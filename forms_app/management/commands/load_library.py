from django.core.management.base import BaseCommand, CommandError

from forms_app.design.services import LIBRARY, add_from_library
from forms_app.management.commands._design import organisation_named, write_report


class Command(BaseCommand):
    help = "Add the ready-made forms (PHQ-9, GAD-7) to an organisation as new drafts."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="Its exact name, or id.")
        parser.add_argument("names", nargs="*",
                            help=f"Which forms (default all): {', '.join(LIBRARY)}.")

    def handle(self, *args, organisation, names, **options):
        unknown = sorted(set(names) - set(LIBRARY))
        if unknown:
            raise CommandError(f"Not in the library: {', '.join(unknown)}; choose from "
                               f"{', '.join(LIBRARY)}.")
        organisation = organisation_named(organisation)
        for name in names or LIBRARY:
            write_report(self, add_from_library(name=name, organisation=organisation,
                                                by="system"))
