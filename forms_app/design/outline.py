"""The draft as staff think of it: pages, each with its questions in order, and every
condition in plain words ("Shown when Do you smoke? is Yes").

Read only (the designer's change page and its checks); the moves and additions are
services in forms_app.design.services.
"""

from dataclasses import dataclass, field

from forms_app.design.export import Draft
from forms_app.models import Item, Operator

# Operators as they read mid-sentence after a question's text.
OPERATOR_WORDS = {
    Operator.EQUALS: "is",
    Operator.NOT_EQUALS: "is not",
    Operator.GREATER: "is more than",
    Operator.LESS: "is less than",
    Operator.GREATER_OR_EQUAL: "is at least",
    Operator.LESS_OR_EQUAL: "is at most",
}


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answer_words(question, answer: str) -> str:
    """An answer as the patient would read it: the option's words, Yes or No."""
    answer = answer.strip()
    if question.type == Item.Type.BOOLEAN:
        return {"true": "Yes", "false": "No"}.get(answer.lower(), answer)
    for option in question.options.all():
        if option.code == answer:
            return option.display
    return answer


def condition_words(condition) -> str:
    """One condition as a sentence fragment: 'Do you smoke? is Yes'."""
    question = condition.question
    name = short(question.text) or question.link_id
    if condition.operator == Operator.EXISTS:
        answered = (condition.answer or "true").strip().lower() != "false"
        return f"{name} is {'answered' if answered else 'not answered'}"
    words = OPERATOR_WORDS.get(condition.operator, condition.operator)
    return f"{name} {words} {answer_words(question, condition.answer)}"


def conditions_words(item) -> str:
    """'' when always shown, else 'Shown when A is Yes and B is more than 3'."""
    parts = [condition_words(c) for c in item.conditions.all()]
    if not parts:
        return ""
    joiner = " or " if item.enable_behavior == Item.Behavior.ANY else " and "
    return "Shown when " + joiner.join(parts)


@dataclass
class Entry:
    """One item in the outline, with what the page needs to show and move it."""

    item: Item
    number: str  # "2" for a page, "2.3" for its third question
    depth: int
    shown_when: str
    first: bool
    last: bool
    children: list["Entry"] = field(default_factory=list)

    @property
    def is_page(self) -> bool:
        return self.depth == 0

    @property
    def is_group(self) -> bool:
        return self.item.type == Item.Type.GROUP

    @property
    def kind(self) -> str:
        if self.is_group:
            return "Page" if self.is_page else "Group"
        if self.item.calculation:
            return "Score"
        return "Text" if self.item.type == Item.Type.DISPLAY else "Question"


def outline(draft: Draft) -> list[Entry]:
    """The pages of the draft in order, each holding its items in order."""

    def entries(parent_id, prefix: str, depth: int) -> list[Entry]:
        siblings = [i for i in draft.children.get(parent_id, []) if i in draft.items]
        made = []
        for index, item in enumerate(siblings):
            number = f"{prefix}{index + 1}"
            entry = Entry(item=item, number=number, depth=depth,
                          shown_when=conditions_words(item), first=index == 0,
                          last=index == len(siblings) - 1)
            entry.children = entries(item.pk, number + ".", depth + 1)
            made.append(entry)
        return made

    return entries(None, "", 0)


def groups(draft: Draft) -> list[Item]:
    """Where an item can be moved to: every page and group, in form order."""
    return [item for item in draft.items if item.type == Item.Type.GROUP]


def earlier_questions(draft: Draft, item) -> list[Item]:
    """What a condition on ``item`` may refer to: questions the patient answers that
    come before it in the form (never the item itself, nor anything inside it)."""
    found = []
    for other in draft.items:
        if other.pk == item.pk:
            break
        if other.is_answerable and not other.calculation:
            found.append(other)
    return found
