"""Required groups (FHIR ``required`` on a group): at least one of its questions answered.

FHIR says a required group must be present in the response, and a group is present only
when something in it is answered. The check never traps a patient: a group that is
hidden (questionnaire-hidden, or disabled by its conditions) is not required, and
neither is one none of whose questions is shown, since the patient has nothing they
could answer. Groups inside a repeating group are left to the repeat's own minimum
(engine.repeats): an instance left blank is no instance at all.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .items import Item
from .messages import from_question


def _checked(item: Item) -> bool:
    """A required group this module checks (see the module docstring)."""
    return (item.type == "group" and item.required and not item.hidden
            and item.scope is None and not item.is_repeating_group)


def _counts(item: Item) -> bool:
    """A question whose answer counts for its required group."""
    return item.is_question and (item.scope is None or item.is_repeat_root)


def mark_members(items: dict[str, Item]) -> None:
    """Mark, in place, each question that counts for a required group it is in."""
    required = {link_id for link_id, item in items.items() if _checked(item)}
    for link_id, item in items.items():
        if _counts(item) and required.intersection(item.ancestors):
            items[link_id] = dataclasses.replace(item, in_required_group=True)


def required_groups(items: Mapping[str, Item], page_key: str) -> tuple[Item, ...]:
    """The page's groups (the page itself too) whose answers the patient must start."""
    return tuple(item for item in items.values()
                 if _checked(item) and item.page_key == page_key)


def questions_in(items: Mapping[str, Item], group: Item) -> list[Item]:
    """The questions the patient answers inside ``group``, at any depth, in form order."""
    return [item for item in items.values()
            if group.link_id in item.ancestors and _counts(item)]


def unanswered(items: Mapping[str, Item], groups: Iterable[Item], enabled: set[str],
               kept: Mapping[str, Any]) -> list[tuple[Item, list[Item]]]:
    """(group, its shown questions) for each enabled required group with none answered."""
    found = []
    for group in groups:
        if group.link_id not in enabled:
            continue
        shown = [q for q in questions_in(items, group) if q.link_id in enabled]
        if shown and not any(q.link_id in kept for q in shown):
            found.append((group, shown))
    return found


def message(group: Item):
    """ "Answer at least one question in about your pain" (lazy: form classes are shared
    between requests in different languages)."""
    name = from_question(group.text) or _("this section")
    return format_lazy(_("Answer at least one question in {}"), name)
