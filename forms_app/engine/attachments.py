"""Attachment questions: a photo or a document the patient uploads from their phone.

The engine checks a file (size, and its content type read from its first bytes, never
from the name or the browser's word) against the item's SDC ``maxSize`` and ``mimeType``
(defaults in ``items``) and hands the page's caller an ``UploadedAttachment``; the
caller stores its bytes (encrypted, with the submission) and replaces it with the stored
answer shape::

    {"id": "<uuid of the stored file>", "title": "photo.jpg", "contentType": "image/jpeg",
     "size": 123456, "hash": "<base64 SHA-1, as FHIR's Attachment.hash>"}

The page carries that answer back as a signed hidden value (``<name>_current``), so a
page saved and validated again later (or reloaded) keeps the file without the bytes
being posted again, and a patient cannot make up an answer naming someone else's file.
"""

import base64
import hashlib
import os
import unicodedata
from dataclasses import dataclass

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .fields import EngineFieldMixin, _common
from .items import Item

SIGNING_SALT = "forms_app.engine.attachment"
MAX_TITLE = 200
ANSWER_KEYS = frozenset({"id", "title", "contentType", "size", "hash"})
# Content types recognised from a file's first bytes (its "magic number").
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"})
# The words a patient reads for each accepted type.
_NAMES = {"image/jpeg": "JPG", "image/png": "PNG", "application/pdf": "PDF",
          "image/gif": "GIF", "image/heic": "HEIC", "image/webp": "WEBP"}


@dataclass(frozen=True)
class UploadedAttachment:
    """A checked upload, not yet stored: the caller stores ``content`` and files the rest."""

    title: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)

    def answer(self, file_id: str) -> dict:
        """The stored answer once the bytes are kept under ``file_id``."""
        return {"id": file_id, "title": self.title, "contentType": self.content_type,
                "size": self.size, "hash": content_hash(self.content)}


def content_hash(content: bytes) -> str:
    # FHIR defines Attachment.hash as the base64 SHA-1; it identifies, it does not protect.
    return base64.b64encode(hashlib.sha1(content).digest()).decode("ascii")  # noqa: S324


def sniff_content_type(head: bytes) -> str | None:
    """The content type the file's first bytes show, or None if not one we know."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def accepts(item: Item, content_type: str) -> bool:
    """Whether the item's mimeType list admits the type (``image/*`` admits any image)."""
    major = content_type.split("/", 1)[0]
    return any(allowed in (content_type, f"{major}/*", "*/*") for allowed in item.mime_types)


def is_answer(value) -> bool:
    """Whether ``value`` is the stored answer shape (see the module docstring)."""
    return (isinstance(value, dict) and set(value) == ANSWER_KEYS
            and all(isinstance(value[k], str) and value[k] for k in ("id", "title", "hash"))
            and isinstance(value["contentType"], str)
            and isinstance(value["size"], int) and not isinstance(value["size"], bool)
            and value["size"] > 0)


def sign(answer: dict) -> str:
    return signing.dumps(answer, salt=SIGNING_SALT, compress=True)


def unsign(token) -> dict | None:
    if not isinstance(token, str) or len(token) > 4000:
        return None
    try:
        answer = signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature:
        return None
    return answer if is_answer(answer) else None


def safe_title(name) -> str:
    """The file's own name without any folder, control characters or excess length."""
    base = os.path.basename(str(name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > MAX_TITLE:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: MAX_TITLE - len(suffix) - 1] + dot + suffix) if dot else base[:MAX_TITLE]
    return base or str(_("Attached file"))


def describe(answer: dict) -> str:
    """The answer as the patient reads it back: its name and size."""
    return f"{answer.get('title', '')} ({filesizeformat(answer.get('size', 0))})"


def type_names(item: Item) -> str:
    names = []
    for content_type in item.mime_types:
        name = _NAMES.get(content_type) or content_type.split("/", 1)[-1].upper()
        if name not in names:
            names.append(name)
    if len(names) == 1:
        return names[0]
    return format_lazy(_("{} or {}"), ", ".join(names[:-1]), names[-1])


class AttachmentWidget(forms.Widget):
    """A file input, and the file already given (signed), and "remove" for an optional one."""

    needs_multipart_form = True

    def value_from_datadict(self, data, files, name):
        upload = files.get(name) if files is not None else None
        return (upload, data.get(f"{name}_current"), data.get(f"{name}_remove"))

    def value_omitted_from_data(self, data, files, name):
        return name not in (files or {}) and f"{name}_current" not in data

    def format_value(self, value):
        return value


class AttachmentAnswerField(EngineFieldMixin, forms.Field):
    """A stored answer (dict), an ``UploadedAttachment`` for a new file, or None."""

    widget = AttachmentWidget

    def to_python(self, value):
        if isinstance(value, dict):  # the initial answer
            return value if is_answer(value) else None
        upload, token, remove = (list(value) + [None] * 3)[:3] if isinstance(
            value, list | tuple) else (None, None, None)
        if upload is not None:
            return self._checked(upload)
        if remove:
            return None
        if token:
            answer = unsign(token)
            if answer is None:
                raise ValidationError(format_lazy(_("Select the file for {} again"),
                                                  _label(self.item)), code="invalid")
            return answer
        return None

    def _checked(self, upload) -> UploadedAttachment:
        item = self.item
        size = getattr(upload, "size", None) or 0
        if size > item.max_size:
            raise ValidationError(
                format_lazy(_("The selected file must be smaller than {}"),
                            filesizeformat(item.max_size)), code="max_size")
        content = upload.read(item.max_size + 1)
        if not content:
            raise ValidationError(_("The selected file is empty"), code="empty")
        if len(content) > item.max_size:
            raise ValidationError(
                format_lazy(_("The selected file must be smaller than {}"),
                            filesizeformat(item.max_size)), code="max_size")
        content_type = sniff_content_type(content[:16])
        if content_type is None or not accepts(item, content_type):
            raise ValidationError(format_lazy(_("The selected file must be a {}"),
                                              type_names(item)), code="content_type")
        return UploadedAttachment(safe_title(getattr(upload, "name", "")), content_type,
                                  content)

    def nhsuk_component(self, bound, *, page_heading=False, conditional=None):
        """("fileUpload", parameters): the NHS.UK input with type file, and the file
        already given, if any (jinja2/includes/fields.html)."""
        params = _common(bound, page_heading, legend=False)
        params["type"] = "file"
        accept = ",".join(self.item.mime_types)
        params["attributes"] = {"accept": accept}
        current = bound.value()
        if isinstance(current, list | tuple):
            current = unsign(current[1]) if len(current) > 1 else None
        elif not is_answer(current):
            current = None
        if current is not None:
            params["current"] = {"name": f"{bound.html_name}_current", "token": sign(current),
                                 "text": describe(current), "removable": not self.required,
                                 "removeName": f"{bound.html_name}_remove"}
        return "fileUpload", params


def _label(item: Item):
    return item.short_label or item.text or _("your answer")
