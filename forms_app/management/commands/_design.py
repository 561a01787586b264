"""Shared by the form design commands: finding the organisation and printing a report."""

from django.core.management.base import CommandError

from patients.models import Organisation


def organisation_named(value: str) -> Organisation:
    matches = Organisation.objects.filter(name=value)
    if not matches.exists() and value.isdigit():
        matches = Organisation.objects.filter(pk=int(value))
    if matches.count() != 1:
        raise CommandError(f'No single organisation is named "{value}"; give its exact name '
                           "or id.")
    return matches.get()


def write_report(command, imported) -> None:
    form = imported.form
    command.stdout.write(command.style.SUCCESS(
        f'Created the draft "{form.title}" ({form.pk}) with {form.items.count()} items.'))
    if not imported.report:
        command.stdout.write("Everything in the Questionnaire was kept.")
        return
    command.stdout.write(f"{len(imported.report)} note(s) on what could not be represented:")
    for entry in imported.report:
        command.stdout.write(f"  {entry['item'] or 'Questionnaire'}: {entry['message']}")
