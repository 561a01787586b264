import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forms_app import services
from forms_app.models import FormVersion
from forms_app.received import ResponseRefused, receive_response
from patients.models import CareTeam

MAX_BYTES = 15 * 1024 * 1024


class Command(BaseCommand):
    help = ("File a completed FHIR QuestionnaireResponse (JSON file) for a published form "
            "version and a patient of a care team: checked, its scores recomputed (any "
            "sent value that disagrees is printed), filed once per its identifier.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--form-version", required=True, help="The form version's id.")
        parser.add_argument("--team", required=True, help="The care team's id.")

    def handle(self, *args, path, form_version, team, **options):
        try:
            version = FormVersion.objects.get(pk=form_version)
            team = CareTeam.objects.select_related("organisation").get(pk=team)
        except (FormVersion.DoesNotExist, CareTeam.DoesNotExist, ValueError) as error:
            raise CommandError(f"No such form version or care team ({error})") from None
        try:
            resource = json.loads(path.read_bytes()[:MAX_BYTES + 1])
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path.name} as JSON: {error}") from None
        if team.organisation_id != version.form.organisation_id:
            raise CommandError("The form version belongs to another organisation.")
        try:
            received = receive_response(version=version, resource=resource,
                                        care_team=team, by="system")
        except ResponseRefused as refused:
            raise CommandError("Not filed:\n  " + "\n  ".join(refused.problems)) from None
        except services.ServiceError as refused:
            raise CommandError(f"Not filed: {refused}") from None
        submission = received.submission
        verb = "Filed" if received.created else "Already received"
        self.stdout.write(f"{verb} as {submission.reference}.")
        for found in received.discrepancies:
            # In a repeating group the path names the instance (relative[2]/points).
            self.stdout.write(f"  Discrepancy: {found.get('path', found['linkId'])} was sent as "
                              f"{found['sent']}; the answers give {found['computed']}.")
