"""A readable PDF of exactly what the patient saw and answered.

Built with reportlab from the compiled form's own "check your answers" summary, so the
document shows the questions as worded on the pages and the answers as displayed there.
The font is DejaVu Sans (vendored with its licence, so no system font is needed) for
Latin, Greek, Cyrillic and many symbols; a character it has no glyph for (emoji, CJK,
...) is written as its Unicode name in brackets, so nothing is silently dropped and
nothing crashes. Fonts are registered once per process (reportlab keeps them), which
keeps a document to tens of milliseconds.
"""

import functools
import io
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Binary streams as they are (Flate-compressed) rather than also ASCII85-encoded: a
# fifth smaller and a good deal quicker to write; every PDF reader takes them.
rl_config.useA85 = 0
REGULAR, BOLD = "PF-DejaVuSans", "PF-DejaVuSans-Bold"


@functools.cache
def _fonts() -> frozenset[int]:
    """Register the fonts (once) and return the code points they can draw."""
    regular = TTFont(REGULAR, str(FONT_DIR / "DejaVuSans.ttf"))
    bold = TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(bold)
    both = frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)
    # Format characters (zero-width joiners of emoji sequences...) draw nothing.
    return frozenset(c for c in both if unicodedata.category(chr(c)) != "Cf") | {10}


def _drawable(text: str, known: frozenset[int]) -> str:
    text = str(text)
    if all(ord(char) in known for char in text):
        return text
    out = []
    for char in text:
        if ord(char) in known:
            out.append(char)
        elif unicodedata.category(char) in {"Mn", "Me", "Cf"}:
            continue  # a mark or joiner the font lacks (e.g. an emoji variation selector)
        else:
            out.append(f"[{unicodedata.name(char, f'U+{ord(char):04X}').lower()}]")
    return "".join(out)


def submission_pdf(submission, compiled) -> bytes:
    """The submission as a PDF; the same bytes for the same submission."""
    known = _fonts()

    def para(text, style):
        # Paragraph reads a little markup: escape the text, keep its line breaks.
        return Paragraph(escape(_drawable(text, known)).replace("\n", "<br/>"), style)

    title = ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=BOLD, fontSize=13, leading=16,
                             spaceBefore=8, spaceAfter=4)
    question = ParagraphStyle("question", fontName=BOLD, fontSize=10, leading=13)
    answer = ParagraphStyle("answer", fontName=REGULAR, fontSize=10, leading=13,
                            spaceAfter=6)
    fact = ParagraphStyle("fact", fontName=REGULAR, fontSize=10, leading=13)

    link = submission.link
    version = link.version
    patient = link.patient
    language = version.definition.get("language") or settings.LANGUAGE_CODE
    submitted = timezone.localtime(submission.submitted_at)
    nhs = patient.nhs_number
    facts = [
        ("Patient", f"{patient.given_name} {patient.family_name}"),
        ("NHS number", f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"),
        ("Form version", f"{version.number} (published {version.published_at:%d %B %Y})"),
        ("Language", language),
        ("Submitted", f"{submitted:%d %B %Y at %H:%M} ({submitted:%Z})"),
        ("Reference", submission.reference),
    ]
    facts_table = Table(
        [[para(label, question), para(value, fact)] for label, value in facts],
        colWidths=[35 * mm, None], hAlign="LEFT")
    facts_table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.grey),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    story = [para(compiled.title, title), facts_table, Spacer(1, 4 * mm)]
    for page in compiled.summary(submission.answers or {}):
        if page.title:
            story.append(para(page.title, heading))
        for row in page.rows:
            story.append(para(row.question, question))
            story.append(para(row.answer or "Not answered", answer))
        for group in page.groups:  # one per instance of a repeating group
            story.append(para(group.title, heading))
            for row in group.rows:
                story.append(para(row.question, question))
                story.append(para(row.answer or "Not answered", answer))

    footer = _drawable(f"{settings.TRUST_NAME} - reference {submission.reference}", known)

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(REGULAR, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{footer} - page {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
        bottomMargin=20 * mm, title=_drawable(f"{compiled.title} - {submission.reference}",
                                              known),
        author=settings.TRUST_NAME, lang=language,
        # Invariant output (no timestamp or random id): the record's copy and the
        # patient's download of one submission are the same bytes.
        invariant=1)
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
