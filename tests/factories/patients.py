import datetime

import factory
from django.contrib.auth import get_user_model

from patients.models import CareTeam, Organisation, Patient


def nhs_number_for(seed: int) -> str:
    """A valid NHS number (Modulus 11) derived from a sequence number."""
    base = 900000000 + seed * 7
    while True:
        digits = f"{base:09d}"
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            return digits + str(check)
        base += 1


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.nhs.uk")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save(update_fields=["password"])


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Trust {n}")
    ods_code = factory.Sequence(lambda n: f"R{n:04d}")


class CareTeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeam
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    nhs_number = factory.Sequence(nhs_number_for)
    given_name = "Alex"
    family_name = factory.Sequence(lambda n: f"Patient{n}")
    date_of_birth = datetime.date(1980, 6, 1)
    mobile = "07700900001"
    email = factory.Sequence(lambda n: f"patient{n}@example.com")

    @factory.post_generation
    def care_teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.care_teams.add(*extracted)
