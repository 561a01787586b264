"""Designer settings kept as the item's own FHIR extensions (Item.fhir_extensions), not
as columns: SDC choiceOrientation, and an attachment's maxSize and mimeType. The item
page edits them through ItemForm (admin/design.py); import keeps them verbatim and
export writes them as they are, so a form exported and imported again is unchanged.

Each reader returns what the item page shows; each writer returns the item's new
extension list with only that setting replaced (everything else kept in its order).
"""

from decimal import Decimal

from forms_app.engine import extensions as ext
from forms_app.engine.items import DEFAULT_MAX_SIZE

ORIENTATION_TYPES = frozenset({"choice", "multiple-choice", "open-choice", "boolean"})
ORIENTATION_CHOICES = [
    ("", "Automatic (yes or no side by side, longer lists one under another)"),
    ("vertical", "One under another"),
    ("horizontal", "Side by side"),
]
# The content types the platform recognises from a file's first bytes
# (engine.attachments.sniff_content_type): accepting any other could never succeed.
MIME_TYPE_CHOICES = [
    ("image/jpeg", "JPEG photo (.jpg)"),
    ("image/png", "PNG image"),
    ("image/heic", "HEIC photo (iPhone)"),
    ("image/webp", "WEBP image"),
    ("image/gif", "GIF image"),
    ("application/pdf", "PDF document"),
    ("image/*", "Any of the image types above"),
]
KNOWN_MIME_TYPES = frozenset(code for code, _ in MIME_TYPE_CHOICES)
MAX_SIZE_KB = DEFAULT_MAX_SIZE // 1024  # the platform's own limit, whatever a form says


def _without(extensions, *urls) -> list[dict]:
    return [e for e in extensions or () if not (isinstance(e, dict) and e.get("url") in urls)]


def orientation_of(extensions) -> str:
    for extension in extensions or ():
        if isinstance(extension, dict) and extension.get("url") == ext.CHOICE_ORIENTATION:
            value = extension.get("valueCode")
            return value if value in ext.ORIENTATIONS else ""
    return ""


def with_orientation(extensions, orientation: str) -> list[dict]:
    kept = _without(extensions, ext.CHOICE_ORIENTATION)
    if orientation:
        kept.append({"url": ext.CHOICE_ORIENTATION, "valueCode": orientation})
    return kept


def max_size_kb_of(extensions) -> int | None:
    """The maxSize extension in whole kilobytes (rounded up), or None when not set."""
    for extension in extensions or ():
        if isinstance(extension, dict) and extension.get("url") == ext.MAX_SIZE:
            _kind, value = ext.value_of(extension)
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                return max(1, -(-int(value) // 1024))
    return None


def mime_types_of(extensions) -> list[str]:
    return [e.get("valueCode") for e in extensions or ()
            if isinstance(e, dict) and e.get("url") == ext.MIME_TYPE
            and isinstance(e.get("valueCode"), str)]


def with_max_size(extensions, kilobytes: int | None) -> list[dict]:
    kept = _without(extensions, ext.MAX_SIZE)
    if kilobytes:
        # SDC maxSize is a decimal number of bytes.
        kept.append({"url": ext.MAX_SIZE, "valueDecimal": kilobytes * 1024})
    return kept


def with_mime_types(extensions, types) -> list[dict]:
    kept = _without(extensions, ext.MIME_TYPE)
    kept += [{"url": ext.MIME_TYPE, "valueCode": code} for code in types]
    return kept


def for_type(extensions, item_type: str) -> list[dict]:
    """The item's extensions without the settings its (new) type does not have."""
    kept = list(extensions or ())
    if item_type not in ORIENTATION_TYPES:
        kept = _without(kept, ext.CHOICE_ORIENTATION)
    if item_type != "attachment":
        kept = _without(kept, ext.MAX_SIZE, ext.MIME_TYPE)
    return kept
