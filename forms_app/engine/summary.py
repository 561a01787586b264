"""The "check your answers" reading and the FHIR QuestionnaireResponse items."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .answers import display, fhir_answers
from .items import Item, Page
from .repeats import instance_label


@dataclass(frozen=True)
class SummaryRow:
    link_id: str
    question: str
    answer: str
    # A result worked out from the answers (a calculated item): read, never changed.
    calculated: bool = False


@dataclass(frozen=True)
class SummaryGroup:
    """One instance of a repeating group (or one repeating question's answers)."""

    title: str  # e.g. "Relative 2", or "Relative 2, condition 1" one level down
    rows: list[SummaryRow] = field(default_factory=list)


@dataclass(frozen=True)
class SummaryPage:
    key: str
    title: str
    rows: list[SummaryRow] = field(default_factory=list)
    groups: list[SummaryGroup] = field(default_factory=list)


def summary_pages(
    pages: list[Page], enabled_pages: list[str], enabled: set[str], answers: Mapping[str, Any],
    members_of=lambda link_id: (), resolved: Mapping[str, Item] | None = None,
) -> list[SummaryPage]:
    """Each enabled page's answered questions, then the results worked out from them;
    ``answers`` holds the calculated values too. ``resolved``: questions whose options
    an answerExpression worked out, with those options (their words are read back)."""
    resolved = resolved or {}
    by_key = {page.key: page for page in pages}
    result = []
    for key in enabled_pages:
        page = by_key[key]
        rows = [
            SummaryRow(item.link_id, item.text,
                       display(resolved.get(item.link_id, item), answers.get(item.link_id)))
            for item in page.questions
            if item.link_id in enabled
        ]
        rows += [
            SummaryRow(item.link_id, item.text, display(item, answers[item.link_id]),
                       calculated=True)
            for item in page.results
            if item.link_id in enabled and answers.get(item.link_id) is not None
        ]
        groups: list[SummaryGroup] = []
        for root in page.repeat_roots:
            if root.link_id not in enabled:
                continue
            if root.is_repeating_question:
                rows.append(SummaryRow(root.link_id, root.text,
                                       display(root, answers.get(root.link_id))))
            else:
                groups += _instance_groups(root, answers.get(root.link_id), members_of, "")
        if rows or groups:
            result.append(SummaryPage(page.key, page.title, rows, groups))
    return result


def _instance_groups(group: Item, instances: Any, members_of, outer: str) -> list:
    """A SummaryGroup per instance, each followed by those of the groups inside it."""
    found = []
    for number, instance in enumerate(instances or [], start=1):
        title = instance_label(group, number)
        title = f"{outer}, {title[:1].lower()}{title[1:]}" if outer else title
        rows, inner = [], []
        for member in members_of(group.link_id):
            if member.is_repeating_group:
                inner += _instance_groups(member, instance.get(member.link_id), members_of,
                                          title)
            elif member.is_answerable and not member.hidden and member.link_id in instance:
                # A calculated item of the instance (a per-relative flag) is read back
                # as worked out, as the form's own results are.
                rows.append(SummaryRow(member.link_id, member.text,
                                       display(member, instance[member.link_id]),
                                       calculated=member.calculation is not None))
        found.append(SummaryGroup(title, rows))
        found += inner
    return found


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
    nodes = _Nodes(items, enabled, scored)
    return [entry for link_id in top_level for entry in nodes(link_id, values, True)]


def instance_item(items: Mapping[str, Item], group: Item, instance: Mapping[str, Any],
                  *, scored: bool = False) -> dict:
    """One instance of a repeating group as its QuestionnaireResponse item (what
    %context is for the expressions of that instance), even when nothing is answered."""
    nodes = _Nodes(items, set(), scored)
    children = [e for child in group.children for e in nodes(child, instance, False)]
    entry = _head(group)
    if children:
        entry["item"] = children
    return entry


class _Nodes:
    def __init__(self, items, enabled, scored):
        self.items, self.enabled, self.scored = items, enabled, scored

    def __call__(self, link_id: str, values: Mapping[str, Any], check: bool) -> list[dict]:
        """``check``: whether ``enabled`` decides (inside an instance its answers were
        kept for what that instance enables)."""
        item = self.items[link_id]
        if (check and link_id not in self.enabled) or item.type == "display":
            return []
        if item.is_repeating_group:
            return self._instances(item, values.get(link_id) or [])
        children = [e for child in item.children for e in self(child, values, check)]
        entry: dict[str, Any] = _head(item)
        if item.type == "group":
            if not children:
                return []
            entry["item"] = children
            return [entry]
        answers = fhir_answers(item, values.get(link_id), scored=self.scored)
        if answers:
            entry["answer"] = answers
            if children:
                answers[0]["item"] = children
        elif children:
            entry["item"] = children
        else:
            return []
        return [entry]

    def _instances(self, item: Item, instances: list) -> list[dict]:
        """One item per instance, each with the same linkId (FHIR's repeating group)."""
        found = []
        for instance in instances:
            children = [e for child in item.children for e in self(child, instance, False)]
            if children:
                found.append({**_head(item), "item": children})
        return found


def _head(item: Item) -> dict[str, Any]:
    entry: dict[str, Any] = {"linkId": item.link_id}
    if item.text:
        entry["text"] = item.text
    return entry
