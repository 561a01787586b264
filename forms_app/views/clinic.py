"""Clinic pages: find a patient, issue a form, follow and manage its links, clinic lists.

Staff only, with a verified second factor; everything is scoped through the one rule
(CareTeam.objects.of_user and the visible_to querysets). Searches are posted, so no
patient detail ever reaches a URL.
"""

import datetime

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from forms_app import clinic_lists, services
from forms_app.clinic_forms import (
    ClinicListUploadForm,
    ExtendForm,
    IssueLinkForm,
    PatientSearchForm,
    ResendForm,
    end_of_day,
)
from forms_app.delivery import services as delivery
from forms_app.models import Appointment, ClinicList, DeliveryAttempt, Link, LinkStatus
from forms_app.views import shown_once
from patients.access import staff_required
from patients.models import CareTeam, Patient

PREVIEW_VALID_ROWS = 50

# One NHS.UK tag colour per link status, by meaning: grey and white not yet used, blue
# with the patient, green done, red needs a person, yellow or orange closed unused.
LINK_STATUS_TAGS = {
    LinkStatus.ISSUED: "nhsuk-tag--grey",
    LinkStatus.DELIVERED: "nhsuk-tag--white",
    LinkStatus.OPENED: "nhsuk-tag--blue",
    LinkStatus.IN_PROGRESS: "nhsuk-tag--blue",
    LinkStatus.SUBMITTED: "nhsuk-tag--aqua-green",
    LinkStatus.FILED: "nhsuk-tag--green",
    LinkStatus.FAILED: "nhsuk-tag--red",
    LinkStatus.EXPIRED: "nhsuk-tag--yellow",
    LinkStatus.REVOKED: "nhsuk-tag--orange",
}


def clinic_staff(view):
    """The staff guard (patients.access), and never cached: clinic pages show patients."""
    return never_cache(staff_required(view))


def qr_svg(url: str) -> str:
    # segno writes a self-contained SVG: no script, no style attribute (CSP-safe).
    return mark_safe(segno.make(url, error="m").svg_inline(  # noqa: S308 (segno's own SVG)
        scale=5, dark="#000", light="#fff", omitsize=True,
        title="QR code for the form link"))


@clinic_staff
@require_http_methods(["GET", "POST"])
def find_patient(request):
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    results = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patients = Patient.objects.visible_to(request.user).select_related("organisation")
        if data["nhs_number"]:
            patients = patients.filter(nhs_number=data["nhs_number"])
        if data["hospital_number"]:
            patients = patients.filter(hospital_number__iexact=data["hospital_number"])
        if data["family_name"]:
            patients = patients.filter(family_name__iexact=data["family_name"].strip(),
                                       date_of_birth=data["date_of_birth"])
        results = list(patients[:50])
    return render(request, "forms_app/clinic/find_patient.html",
                  {"form": form, "results": results},
                  status=400 if form.errors else 200)


def _visible_patient(request, patient_id) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(request.user)
                             .select_related("organisation"), pk=patient_id)


def _patient_page(request, patient, issue_form=None, status=200):
    now = timezone.now()
    links = (Link.objects.visible_to(request.user).filter(patient=patient).with_status(now)
             .select_related("version", "care_team", "submission")
             .prefetch_related(Prefetch("deliveries",
                                        queryset=DeliveryAttempt.objects.order_by("created_at"))))
    links = list(links)
    for link in links:
        link.status_label = LinkStatus(link.status).label
        link.status_tag = LINK_STATUS_TAGS.get(link.status, "nhsuk-tag--grey")
    issue_form = issue_form or IssueLinkForm(user=request.user,
                                             organisation=patient.organisation)
    teams = CareTeam.objects.of_user(request.user).filter(organisation=patient.organisation)
    appointments = list(Appointment.objects.filter(
        patient=patient, care_team__in=teams,
        starts_at__gte=timezone.now() - datetime.timedelta(hours=12))
        .select_related("care_team").order_by("starts_at")[:5])
    return render(request, "forms_app/clinic/patient.html", {
        "patient": patient, "links": links, "issue_form": issue_form,
        "appointments": appointments,
        "open_states": {LinkStatus.ISSUED, LinkStatus.DELIVERED, LinkStatus.OPENED,
                        LinkStatus.IN_PROGRESS},
    }, status=status)


@clinic_staff
@require_http_methods(["GET"])
def patient_detail(request, patient_id):
    return _patient_page(request, _visible_patient(request, patient_id))


@clinic_staff
@require_POST
def issue(request, patient_id):
    patient = _visible_patient(request, patient_id)
    form = IssueLinkForm(request.POST, user=request.user, organisation=patient.organisation)
    if not form.is_valid():
        return _patient_page(request, patient, form, status=400)
    data = form.cleaned_data
    try:
        issued = delivery.issue_and_deliver(
            version=data["version"], patient=patient, care_team=data["care_team"],
            by=request.user, channel=data["channel"],
            expires_at=end_of_day(data["expires_on"]))
    except (services.ServiceError, ValidationError) as exc:
        form.add_error(None, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        return _patient_page(request, patient, form, status=400)
    channel = data["channel"]
    if channel in delivery.MESSAGE_CHANNELS:
        messages.success(request, f"{data['version'].title}: the link is being sent by "
                                  f"{Link.Channel(channel).label.lower()}.")
        return redirect("clinic:patient", patient_id=patient.pk)
    # Shown on screen or printed: POST-redirect-GET, so refreshing never issues again.
    shown_once.remember(request, issued)
    return redirect("clinic:show_link", link_id=issued.link.pk)


@staff_required
@never_cache
@require_http_methods(["GET"])
def show_link(request, link_id):
    """The QR code (or the letter) of the link this session has just issued, once.

    The token is taken out of the session by the first load: a refresh, another tab or
    anyone else with the address sees that it was shown and can be issued again, and
    nothing is issued by loading this page.
    """
    link = _visible_link(request, link_id)
    issued = shown_once.take(request, link)
    if issued is None:
        return render(request, "forms_app/clinic/link_shown.html",
                      {"patient": link.patient, "link": link}, status=410)
    url = issued.url
    template = ("forms_app/clinic/letter.html" if link.channel == Link.Channel.LETTER
                else "forms_app/clinic/show_link.html")
    return render(request, template, {
        "patient": link.patient, "link": link, "url": url, "qr": qr_svg(url),
    })


def _visible_link(request, link_id) -> Link:
    return get_object_or_404(Link.objects.visible_to(request.user)
                             .select_related("patient", "version"), pk=link_id)


@clinic_staff
@require_POST
def revoke(request, link_id):
    link = _visible_link(request, link_id)
    services.revoke_link(link=link, by=request.user)
    messages.success(request, "The link was revoked: it no longer opens, and no more "
                              "reminders are sent.")
    return redirect("clinic:patient", patient_id=link.patient_id)


@clinic_staff
@require_POST
def resend(request, link_id):
    link = _visible_link(request, link_id)
    form = ResendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose text message or email.")
        return redirect("clinic:patient", patient_id=link.patient_id)
    try:
        delivery.resend_link(link=link, channel=form.cleaned_data["channel"], by=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The link is being sent again.")
    return redirect("clinic:patient", patient_id=link.patient_id)


@clinic_staff
@require_POST
def extend(request, link_id):
    link = _visible_link(request, link_id)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["expires_on"][0])
        return redirect("clinic:patient", patient_id=link.patient_id)
    try:
        delivery.extend_link(link=link, expires_at=end_of_day(form.cleaned_data["expires_on"]),
                             by=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The link now works until "
                                  f"{form.cleaned_data['expires_on']:%d/%m/%Y}.")
    return redirect("clinic:patient", patient_id=link.patient_id)


@clinic_staff
@require_POST
def unlock(request, link_id):
    """After too many wrong dates of birth: the patient may try again now (audited)."""
    link = services.unlock_link(link=_visible_link(request, link_id), by=request.user)
    messages.success(request, "The patient can try the link again now.")
    return redirect("clinic:patient", patient_id=link.patient_id)


# --- Clinic lists --------------------------------------------------------------------

@clinic_staff
@require_http_methods(["GET", "POST"])
def lists(request):
    form = ClinicListUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            clinic_list = clinic_lists.create_clinic_list(
                by=request.user, upload=data["file"], version=data["version"],
                care_team=data["care_team"], channel=data["channel"],
                expires_at=end_of_day(data["expires_on"]))
        except services.ServiceError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("clinic:list", list_id=clinic_list.pk)
    recent = (ClinicList.objects.visible_to(request.user)
              .select_related("version", "care_team")[:20])
    return render(request, "forms_app/clinic/lists.html", {"form": form, "lists": recent},
                  status=400 if form.errors else 200)


def _visible_list(request, list_id) -> ClinicList:
    return get_object_or_404(ClinicList.objects.visible_to(request.user)
                             .select_related("version", "care_team"), pk=list_id)


@clinic_staff
@require_http_methods(["GET"])
def clinic_list(request, list_id):
    clinic_list = _visible_list(request, list_id)
    rows = clinic_list.rows.select_related("patient")
    problem_rows = rows.exclude(problem="")
    context = {
        "clinic_list": clinic_list,
        "problem_rows": problem_rows,
        "problem_count": problem_rows.count(),
        "valid_rows": rows.filter(problem="")[:PREVIEW_VALID_ROWS],
        "more_valid": max(clinic_list.valid_rows - PREVIEW_VALID_ROWS, 0),
        "working": clinic_list.state in {ClinicList.State.QUEUED, ClinicList.State.ISSUING},
    }
    return render(request, "forms_app/clinic/list.html", context)


@clinic_staff
@require_POST
def issue_list(request, list_id):
    clinic_list = _visible_list(request, list_id)
    try:
        clinic_lists.start_issuing(clinic_list=clinic_list, by=request.user)
    except services.ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("clinic:list", list_id=clinic_list.pk)
