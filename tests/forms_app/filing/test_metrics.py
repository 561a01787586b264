"""Filing attempts and failures are counted per destination (forms_app/metrics.py)."""

import pytest
from prometheus_client import REGISTRY

from forms_app import services
from forms_app.filing.destinations import TransientFilingError
from tests.factories.forms_app import phq9_answers, submitted

pytestmark = pytest.mark.django_db


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def submit_phq9(clinic):
    user, team, patient, version = clinic
    return submitted(version, patient=patient, care_team=team, by=user,
                     answers=phq9_answers())


def test_attempts_and_failures_by_destination(clinic, fhir_destination):
    before = {d: value("patient_forms_filing_attempts_total", destination=d)
              for d in ("internal", "fhir")}
    failed = value("patient_forms_filing_failures_total", destination="fhir", kind="transient")
    submission = submit_phq9(clinic)
    fhir_destination.fail_next("500")
    with pytest.raises(TransientFilingError):
        services.file_submission(submission_id=submission.pk)
    services.file_submission(submission_id=submission.pk)

    # External destinations go first in a batch; a submission the external server
    # refused for now is not filed internally in that attempt.
    assert value("patient_forms_filing_attempts_total", destination="internal") == (
        before["internal"] + 1)
    assert value("patient_forms_filing_attempts_total", destination="fhir") == before["fhir"] + 2
    assert value("patient_forms_filing_failures_total", destination="fhir",
                 kind="transient") == failed + 1


def test_a_refusal_counts_as_permanent(clinic, fhir_destination):
    before = value("patient_forms_filing_failures_total", destination="fhir", kind="permanent")
    fhir_destination.fail_next("422")
    with pytest.raises(Exception, match="refused"):
        services.file_submission(submission_id=submit_phq9(clinic).pk)
    assert value("patient_forms_filing_failures_total", destination="fhir",
                 kind="permanent") == before + 1
