"""Register a calling system (e.g. the EHR) for one care team and print its token once."""

from django.core.management.base import BaseCommand, CommandError

from forms_app.api import services as api_services
from patients.models import CareTeam


class Command(BaseCommand):
    help = ("Create an API client for one care team and print its token (shown once; "
            "only its hash is stored).")

    def add_arguments(self, parser):
        parser.add_argument("name", help="The calling system, e.g. 'EHR production'.")
        parser.add_argument("--ods", required=True, help="The organisation's ODS code.")
        parser.add_argument("--team", required=True, help="The care team's name.")
        parser.add_argument("--registers-patients", action="store_true",
                            help="Let the system create patients new to the organisation "
                                 "(the trust's patient administration feed).")

    def handle(self, *args, name, ods, team, registers_patients=False, **options):
        care_team = CareTeam.objects.filter(organisation__ods_code=ods, name=team).first()
        if care_team is None:
            raise CommandError(f"No care team named {team!r} in organisation {ods!r}.")
        try:
            client, token = api_services.create_api_client(
                name=name, care_team=care_team, by="system",
                registers_patients=registers_patients)
        except Exception as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"API client {client.name} ({client.id}) for {care_team}.")
        self.stdout.write("Token (shown once; send as 'Authorization: Bearer <token>'):")
        self.stdout.write(token)
