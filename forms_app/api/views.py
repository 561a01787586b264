"""API views: thin. Scoping is `visible_to(request.user)` (the client's service user),
writes go through services, and every read of answers is audited."""

import hashlib
import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from forms_app import fhir, services
from forms_app.api import serializers as api
from forms_app.api import services as api_services
from forms_app.models import Appointment, Form, FormVersion, IdempotencyKey, Link, Submission
from forms_app.received import ResponseRefused, operation_outcome, receive_response
from forms_app.selectors import compiled_version
from forms_app.whiteboard import services as appointments
from patients import errors
from patients.client_ip import client_ip
from patients.models import AuditEvent, Patient, RecordEntry
from patients.services import record_audit, upsert_patient

IDEMPOTENCY_HEADER = "Idempotency-Key"


class StrictCursorPagination(CursorPagination):
    """Cursor pagination (no COUNT over a team's whole history, stable under inserts)
    that refuses a malformed page size instead of quietly ignoring it."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: f"Use a whole number from 1 to "
                                             f"{self.max_page_size}."}, code="invalid")
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


def _pagination(field):
    return type(f"CursorBy{field.strip('-').title()}", (StrictCursorPagination,),
                {"ordering": (field, "-pk")})


_PAGING_PARAMS = {"cursor", StrictCursorPagination.page_size_query_param}


def _filters(serializer_class, request):
    # An unknown parameter is refused, not ignored: a misspelt filter would otherwise
    # quietly return everything.
    known = set(serializer_class().fields) | _PAGING_PARAMS
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationError({unknown[0] or "query": "Unknown query parameter."},
                              code="unknown_parameter")
    # A plain dict, so that an empty value (`?status=`) is judged as a value, not
    # quietly taken as "not given" as DRF does for form-style input.
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return params.validated_data


class ApiViewSet(viewsets.GenericViewSet):
    lookup_value_converter = "uuid"

    @property
    def client(self):
        return self.request.auth


class FilteredListMixin(mixins.ListModelMixin):
    """``list`` narrowed by the query parameters of `filter_serializer`, each applied as
    the queryset lookup `filter_lookups` names for it (unknown parameters refused)."""

    filter_serializer = None
    filter_lookups: dict[str, str] = {}

    def list(self, request):
        filters = _filters(self.filter_serializer, request)
        queryset = self.get_queryset().filter(**{
            lookup: filters[name] for name, lookup in self.filter_lookups.items()
            if name in filters})
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- Patients ---------------------------------------------------------------------

@extend_schema(tags=["patients"])
class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = api.PatientSerializer
    pagination_class = _pagination("-created_at")

    def get_queryset(self):
        return Patient.objects.visible_to(self.request.user)

    @extend_schema(
        operation_id="patients_upsert",
        summary="Create or update a patient by NHS number",
        description="Updates the fields given (200) of your care team's patient with this "
                    "NHS number. A client allowed to register patients creates one new "
                    "to your organisation (201) as a patient of your team. A patient "
                    "your team cannot see is never changed: the answer is 404 "
                    "`patient_not_found`, the same as for an NHS number no one holds "
                    "(409 `patient_registered_elsewhere` to a registering client).",
        request=api.PatientUpsertSerializer,
        responses={200: api.PatientSerializer, 201: api.PatientSerializer,
                   404: OpenApiResponse(api.ConflictErrorSerializer,
                                        description="Not a patient of your team."),
                   409: OpenApiResponse(api.ConflictErrorSerializer,
                                        description="Registering client: the NHS "
                                                    "number is another team's.")},
    )
    def create(self, request):
        data = api.PatientUpsertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        nhs_number = fields.pop("nhs_number")
        patient, created = upsert_patient(care_team=self.client.care_team,
                                          nhs_number=nhs_number, data=fields,
                                          by=request.user,
                                          may_create=self.client.registers_patients)
        return Response(api.PatientSerializer(patient).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Forms ------------------------------------------------------------------------

@extend_schema(tags=["forms"])
class FormViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Your organisation's forms with their published versions."""

    serializer_class = api.FormSerializer
    pagination_class = _pagination("title")

    def get_queryset(self):
        return (Form.objects.visible_to(self.request.user)
                .filter(versions__isnull=False).distinct()
                .prefetch_related("versions"))


@extend_schema(tags=["forms"])
class FormVersionViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = api.FormVersionSerializer

    def get_queryset(self):
        return FormVersion.objects.filter(
            form__in=Form.objects.visible_to(self.request.user))

    @extend_schema(operation_id="form_versions_questionnaire",
                   summary="Export the version as a FHIR R4 Questionnaire",
                   responses={200: OpenApiResponse(OpenApiTypes.OBJECT,
                                                   description="A FHIR R4 Questionnaire")})
    @action(detail=True, methods=["get"])
    def questionnaire(self, request, pk=None):
        return Response(self.get_object().definition)

    @extend_schema(
        operation_id="form_versions_responses_create",
        summary="File a completed QuestionnaireResponse from your system",
        description="Checked against this version (types, options, required questions, "
                    "conditions, targetConstraints; a repeating group's instances each on "
                    "their own, nested ones too); every calculated item is recomputed (per "
                    "instance inside a repeating group) and any value you sent that "
                    "disagrees is returned in `discrepancies` (the computed one is filed; "
                    "one in an instance has a `path`, e.g. `relative[2]/points`). An "
                    "attachment answer carries its data (base64), checked for size and "
                    "type by its bytes and stored encrypted. The patient "
                    "(subject.identifier, NHS number) must be your team's. Idempotent "
                    "on the response's identifier: sending it again files nothing (200). "
                    "Problems: 400 with a FHIR OperationOutcome.",
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT,
                   400: OpenApiResponse(OpenApiTypes.OBJECT,
                                        description="A FHIR OperationOutcome")})
    @action(detail=True, methods=["post"])
    def responses(self, request, pk=None):
        version = self.get_object()
        try:
            received = receive_response(version=version, resource=request.data,
                                        care_team=self.client.care_team, by=request.user)
        except ResponseRefused as refused:
            return Response(operation_outcome(refused.problems),
                            status=status.HTTP_400_BAD_REQUEST)
        except services.ServiceError as refused:
            return Response(operation_outcome([str(refused)]),
                            status=status.HTTP_400_BAD_REQUEST)
        submission = received.submission
        return Response({"submission": str(submission.pk), "reference": submission.reference,
                         "discrepancies": received.discrepancies},
                        status=status.HTTP_201_CREATED if received.created
                        else status.HTTP_200_OK)


# --- Links ------------------------------------------------------------------------

def request_fingerprint(data) -> str:
    """SHA-256 of the body in canonical JSON: the same request in any key order or
    spacing gives the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotency_key(request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (0 < len(key) <= 255) or not all(33 <= ord(ch) <= 126 for ch in key):
        raise ValidationError(
            {IDEMPOTENCY_HEADER: "Use 1 to 255 visible ASCII characters, e.g. a UUID."},
            code="invalid")
    return key


@extend_schema_view(list=extend_schema(parameters=[api.LinkFilterSerializer]))
@extend_schema(tags=["links"])
class LinkViewSet(FilteredListMixin, mixins.RetrieveModelMixin, ApiViewSet):
    filter_serializer = api.LinkFilterSerializer
    filter_lookups = {"patient": "patient_id", "status": "status"}
    serializer_class = api.LinkSerializer
    pagination_class = _pagination("-issued_at")

    def get_queryset(self):
        return (Link.objects.visible_to(self.request.user).with_status()
                .select_related("version", "submission", "appointment"))

    @extend_schema(
        operation_id="links_issue",
        summary="Issue a link",
        description="Issues a one-time link for a patient of your team. The link's URL "
                    "is in this response only: it is never stored and never shown again. "
                    "Send an `Idempotency-Key` header so that a retried call returns the "
                    "same link (200, `url` null) instead of issuing a second one.",
        request=api.LinkCreateSerializer,
        parameters=[OpenApiParameter(
            IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
            description="Any unique string per request (e.g. a UUID), at most 255 "
                        "visible ASCII characters.")],
        responses={
            201: api.IssuedLinkSerializer,
            200: OpenApiResponse(api.IssuedLinkSerializer,
                                 description="A retry with the same Idempotency-Key: "
                                             "the link already issued, without its URL."),
            422: OpenApiResponse(api.IdempotencyErrorSerializer,
                                 description="The Idempotency-Key was used with a "
                                             "different body."),
        },
    )
    def create(self, request):
        key = idempotency_key(request)
        fingerprint = request_fingerprint(request.data)
        if key is not None:
            # A retry is answered from the key before validating again: the body may
            # no longer validate (the expiry has passed) yet the link was issued.
            record = (IdempotencyKey.objects.select_related("link")
                      .filter(client=self.client, key=key).first())
            if record is not None:
                return self._issued(api_services.replay(record=record,
                                                        request_hash=fingerprint))
        data = api.LinkCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        # A refusal (services.ServiceError, IdempotencyKeyReused) is a domain error:
        # config/errors.py answers it.
        issued = api_services.issue_link(
            client=self.client, by=request.user, idempotency_key=key,
            request_hash=fingerprint, **data.validated_data)
        return self._issued(issued)

    def _issued(self, issued):
        link = self.get_queryset().get(pk=issued.link.pk)
        body = api.IssuedLinkSerializer(link).data
        body["url"] = issued.url
        response = Response(body, status=status.HTTP_200_OK if issued.replayed
                            else status.HTTP_201_CREATED)
        if issued.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(summary="Revoke a link", request=None, operation_id="links_revoke",
                   responses={200: api.LinkSerializer,
                              409: OpenApiResponse(api.ConflictErrorSerializer,
                                                   description="Already submitted.")})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        link = self.get_object()
        api_services.revoke_link(link=link, by=request.user)  # 409 once submitted
        return Response(self.get_serializer(self.get_queryset().get(pk=link.pk)).data)


# --- Appointments -----------------------------------------------------------------

@extend_schema_view(list=extend_schema(parameters=[api.AppointmentFilterSerializer]))
@extend_schema(tags=["appointments"])
class AppointmentViewSet(FilteredListMixin, mixins.RetrieveModelMixin, ApiViewSet):
    filter_serializer = api.AppointmentFilterSerializer
    filter_lookups = {"patient": "patient_id", "appointment_id": "external_id"}
    """Your team's appointments: whiteboards show forms against them."""

    serializer_class = api.AppointmentSerializer
    pagination_class = _pagination("-updated_at")
    lookup_value_converter = "int"

    def get_queryset(self):
        return Appointment.objects.visible_to(self.request.user)

    @extend_schema(
        operation_id="appointments_upsert",
        summary="Create or update an appointment by the EHR's appointment id",
        description="Sets a patient's appointment with your team: time, clinic or ward, "
                    "bed or room, clinician. The first call with an `appointment_id` "
                    "creates it (201); later calls with the same id update it (200), so "
                    "a retry never creates a second one. Links issued to the patient "
                    "afterwards are for their next appointment unless `appointment` is "
                    "given on POST /links/.",
        request=api.AppointmentUpsertSerializer,
        responses={200: api.AppointmentSerializer, 201: api.AppointmentSerializer},
    )
    def create(self, request):
        data = api.AppointmentUpsertSerializer(data=request.data,
                                               context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        patient = fields.pop("patient")
        details = appointments.AppointmentDetails(
            external_id=fields.pop("appointment_id"), **fields)
        try:
            appointment, created = appointments.upsert_appointment(
                care_team=self.client.care_team, patient=patient, by=request.user,
                details=details)
        except services.ServiceError as error:
            raise ValidationError({"appointment_id": [str(error)]},
                                  code="refused") from error
        return Response(api.AppointmentSerializer(appointment).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Submissions ------------------------------------------------------------------

@extend_schema_view(list=extend_schema(parameters=[api.SubmissionFilterSerializer]))
@extend_schema(tags=["submissions"])
class SubmissionViewSet(FilteredListMixin, mixins.RetrieveModelMixin, ApiViewSet):
    filter_serializer = api.SubmissionFilterSerializer
    filter_lookups = {"patient": "link__patient_id", "link": "link_id",
                      "state": "state"}
    serializer_class = api.SubmissionSerializer
    pagination_class = _pagination("-started_at")

    def get_queryset(self):
        return (Submission.objects.visible_to(self.request.user)
                .select_related("link__version", "link__patient"))

    def get_serializer_class(self):
        if self.action == "retrieve":
            return api.SubmissionDetailSerializer
        return api.SubmissionSerializer

    @extend_schema(summary="A submission's state, and its scores and flags once submitted")
    def retrieve(self, request, pk=None):
        submission = self.get_object()
        if submission.is_submitted:
            # Scores and flags are derived from the answers: reading them is audited.
            record_audit(by=request.user, action=AuditEvent.Action.ANSWERS_VIEWED,
                         patient=submission.link.patient, obj=submission,
                         ip_address=client_ip(request),
                         detail={"via": "api", "part": "evaluation"})
        return Response(self.get_serializer(submission).data)

    @extend_schema(
        operation_id="submissions_questionnaire_response",
        summary="The submission as a FHIR R4 QuestionnaireResponse",
        description="The document filed into the record once filed; before that, built "
                    "from the submitted answers. Every read is audited.",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT,
                                        description="A FHIR R4 QuestionnaireResponse"),
                   409: OpenApiResponse(api.ConflictErrorSerializer,
                                        description="Not submitted yet.")})
    @action(detail=True, methods=["get"], url_path="questionnaire-response")
    def questionnaire_response(self, request, pk=None):
        submission = self.get_object()
        if not submission.is_submitted:
            raise errors.Conflict("The patient has not submitted this form yet.")
        entry = RecordEntry.objects.visible_to(request.user).filter(
            source_kind=services.SUBMISSION_SOURCE, source_id=submission.pk).first()
        if entry is not None:
            resource = entry.resource
        else:
            resource = fhir.questionnaire_response(
                submission, compiled_version(submission.link.version))
        record_audit(by=request.user, action=AuditEvent.Action.ANSWERS_VIEWED,
                     patient=submission.link.patient, obj=submission,
                     ip_address=client_ip(request),
                     detail={"via": "api", "part": "QuestionnaireResponse",
                             "filed": entry is not None})
        return Response(resource)


@csrf_exempt  # any method, any body: the answer is the same JSON 404
def not_found(request, *args, **kwargs):
    """Unknown addresses under /api/ answer in the API's JSON error format, not HTML."""
    return JsonResponse({"type": "client_error", "errors": [
        {"code": "not_found", "detail": "Not found.", "attr": None}]}, status=404)
