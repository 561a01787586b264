"""The "check your answers" reading and the FHIR QuestionnaireResponse items."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .answers import display, fhir_answers
from .items import Item, Page


@dataclass(frozen=True)
class SummaryRow:
    link_id: str
    question: str
    answer: str
    # A result worked out from the answers (a calculated item): read, never changed.
    calculated: bool = False


@dataclass(frozen=True)
class SummaryPage:
    key: str
    title: str
    rows: list[SummaryRow] = field(default_factory=list)


def summary_pages(
    pages: list[Page], enabled_pages: list[str], enabled: set[str], answers: Mapping[str, Any]
) -> list[SummaryPage]:
    """Each enabled page's answered questions, then the results worked out from them;
    ``answers`` holds the calculated values too."""
    by_key = {page.key: page for page in pages}
    result = []
    for key in enabled_pages:
        page = by_key[key]
        rows = [
            SummaryRow(item.link_id, item.text, display(item, answers.get(item.link_id)))
            for item in page.questions
            if item.link_id in enabled
        ]
        rows += [
            SummaryRow(item.link_id, item.text, display(item, answers[item.link_id]),
                       calculated=True)
            for item in page.results
            if item.link_id in enabled and answers.get(item.link_id) is not None
        ]
        if rows:
            result.append(SummaryPage(page.key, page.title, rows))
    return result


def response_items(
    items: Mapping[str, Item],
    top_level: list[str],
    enabled: set[str],
    values: Mapping[str, Any],
    *,
    scored: bool = False,
) -> list[dict]:
    """Nested like the Questionnaire: groups hold ``item``, a question's children go
    under its first answer (FHIR's rule), hidden and unanswered items are left out.

    ``scored``: each chosen option's score on its Coding (itemWeight), for FHIRPath's
    ordinal(); the filed response leaves them out, as the Questionnaire holds them.
    """

    def node(link_id: str) -> dict | None:
        item = items[link_id]
        if link_id not in enabled or item.type == "display":
            return None
        children = [child for child in map(node, item.children) if child is not None]
        entry: dict[str, Any] = {"linkId": link_id}
        if item.text:
            entry["text"] = item.text
        if item.type == "group":
            if not children:
                return None
            entry["item"] = children
            return entry
        answers = fhir_answers(item, values.get(link_id), scored=scored)
        if answers:
            entry["answer"] = answers
            if children:
                answers[0]["item"] = children
        elif children:
            entry["item"] = children
        else:
            return None
        return entry

    return [entry for entry in map(node, top_level) if entry is not None]
