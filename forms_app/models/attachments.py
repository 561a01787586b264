"""Files patients attach to their answers (attachment questions)."""

import uuid

from django.db import models
from django.utils import timezone

from forms_app.models.core import Submission
from patients.crypto import EncryptedBinaryField


class SubmissionFile(models.Model):
    """One uploaded file, its bytes encrypted at rest. The answer holds its id, name,
    type, size and hash (forms_app.engine.attachments); filing reads the bytes into
    the QuestionnaireResponse's Attachment. Deleted with the answers by retention."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    link_id = models.CharField(max_length=255)
    content = EncryptedBinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"File {self.pk} of {self.submission_id}"
