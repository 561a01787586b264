from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from forms_app import services
from forms_app.management.demo_data import DEMO_PASSWORD, DEMO_USERNAME, ensure_demo


class Command(BaseCommand):
    help = "Load the demo data and print a staff login and a fresh patient link."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("The demo has a published password: it never runs in production.")
        user, patient, team, version = ensure_demo()
        device, _ = StaticDevice.objects.get_or_create(user=user, name="Demo backup codes")
        token = StaticToken.random_token()
        device.token_set.create(token=token)
        issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
        self.stdout.write(self.style.SUCCESS("\nDemo ready.\n"))
        self.stdout.write(f"  Staff login:   {settings.SITE_URL}/admin/\n"
                          f"    username     {DEMO_USERNAME}\n"
                          f"    password     {DEMO_PASSWORD}\n"
                          f"    OTP token    {token}   (a single-use backup code)\n")
        self.stdout.write(f"  Patient link:  {issued.url}\n"
                          f"    date of birth  {patient.date_of_birth:%d %m %Y}"
                          f"   ({patient}, NHS number {patient.nhs_number})\n")
