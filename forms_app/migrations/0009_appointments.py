"""Appointments belong to a patient and a care team (set by the EHR or a clinic list),
and links point at the appointment they are for: several forms for one appointment."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def attach_links(apps, schema_editor):
    # Each old appointment was one link's: it becomes that link's patient's and team's.
    Appointment = apps.get_model("forms_app", "Appointment")
    Link = apps.get_model("forms_app", "Link")
    for appointment in Appointment.objects.select_related("old_link").iterator():
        link = appointment.old_link
        Appointment.objects.filter(pk=appointment.pk).update(
            care_team_id=link.care_team_id, patient_id=link.patient_id)
        Link.objects.filter(pk=link.pk).update(appointment_id=appointment.pk)


def detach_links(apps, schema_editor):
    Appointment = apps.get_model("forms_app", "Appointment")
    Link = apps.get_model("forms_app", "Link")
    for appointment in Appointment.objects.iterator():
        link = Link.objects.filter(appointment_id=appointment.pk).order_by("issued_at").first()
        if link is None:
            appointment.delete()
        else:
            Appointment.objects.filter(pk=appointment.pk).update(old_link_id=link.pk)


class Migration(migrations.Migration):

    dependencies = [
        ("forms_app", "0008_merge_0003_filing_0007_merge_20261128_2228"),
        ("patients", "0001_initial"),
    ]

    operations = [
        migrations.RenameField("appointment", "link", "old_link"),
        migrations.AlterField(
            model_name="appointment", name="old_link",
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.CASCADE,
                                       related_name="+", to="forms_app.link"),
        ),
        migrations.AddField(
            model_name="appointment", name="care_team",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="appointments", to="patients.careteam"),
        ),
        migrations.AddField(
            model_name="appointment", name="patient",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="appointments", to="patients.patient"),
        ),
        migrations.AddField(
            model_name="appointment", name="external_id",
            field=models.CharField(blank=True, help_text="The appointment's id in the EHR; empty when set here.", max_length=100, verbose_name="EHR appointment id"),
        ),
        migrations.AddField(
            model_name="appointment", name="clinic",
            field=models.CharField(blank=True, help_text="The clinic session or ward, e.g. 'Pre-assessment Tuesday AM' or 'Ward 7'. Whiteboards can be filtered to it.", max_length=100, verbose_name="clinic or ward"),
        ),
        migrations.AddField(
            model_name="appointment", name="clinician",
            field=models.CharField(blank=True, help_text="Who the patient sees, e.g. 'Dr A Khan'.", max_length=100),
        ),
        migrations.AddField(
            model_name="appointment", name="updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="link", name="appointment",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="links", to="forms_app.appointment"),
        ),
        migrations.RunPython(attach_links, detach_links),
        migrations.RemoveField("appointment", "old_link"),
        migrations.AlterField(
            model_name="appointment", name="care_team",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                    related_name="appointments", to="patients.careteam"),
        ),
        migrations.AlterField(
            model_name="appointment", name="patient",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                    related_name="appointments", to="patients.patient"),
        ),
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(fields=["care_team", "starts_at"], name="appointment_team_starts"),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.UniqueConstraint(condition=models.Q(("external_id", ""), _negated=True), fields=("care_team", "external_id"), name="appointment_external_id_unique"),
        ),
    ]
