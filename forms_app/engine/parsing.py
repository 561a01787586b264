"""Pass one of compilation: walk the Questionnaire's items into Item objects.

Every problem is collected (not raised at the first) so staff see them all at once.
Conditions, calculations and flag rules need the whole item list, so rules.py reads
them in a second pass from the raw items kept here.
"""

from dataclasses import dataclass, field
from typing import Any

from . import extensions as ext
from . import item_rules
from .errors import ItemProblem
from .items import ANSWERABLE_TYPES, STRUCTURAL_TYPES, UNSUPPORTED_TYPES, Item
from .options import contained_value_sets

MAX_LINK_ID_LENGTH = 255


@dataclass
class Walk:
    """What pass one produces."""

    items: dict[str, Item] = field(default_factory=dict)  # in pre-order
    raw: dict[str, dict] = field(default_factory=dict)
    top_level: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def walk_definition(definition: Any) -> Walk:
    walk = Walk()
    if not isinstance(definition, dict) or definition.get("resourceType") != "Questionnaire":
        walk.problems.append("The definition is not a FHIR Questionnaire (resourceType)")
        return walk
    raw_items = definition.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        walk.problems.append("The form has no items")
        return walk
    value_sets = contained_value_sets(definition)
    for raw in raw_items:
        link_id = _walk_item(
            walk, raw, value_sets, parent=None, ancestors=(), page_key=None, depth=0,
            scope=None,
        )
        if link_id is not None:
            walk.top_level.append(link_id)
    return walk


def _identity_problem(walk, raw, parent) -> str | None:
    """Why ``raw`` cannot be an item at all (no linkId, an unknown type...), or None."""
    where = parent or "the form"
    if not isinstance(raw, dict):
        return f"An item inside {where} is not an object"
    link_id = raw.get("linkId")
    if not isinstance(link_id, str) or not link_id.strip():
        return f"An item inside {where} has no linkId"
    # "~" separates the parts of a repeated instance's field names (engine.repeats).
    if len(link_id) > MAX_LINK_ID_LENGTH or "\x00" in link_id or "~" in link_id:
        return ItemProblem(link_id[:40], "linkId is too long or has invalid characters")
    if link_id in walk.items or link_id in walk.raw:
        return ItemProblem(link_id, "duplicate linkId")
    return _type_problem(link_id, raw.get("type"))


def _type_problem(link_id: str, item_type: Any) -> str | None:
    if not isinstance(item_type, str):
        return ItemProblem(link_id, "item type must be a string")
    if item_type in UNSUPPORTED_TYPES:
        return ItemProblem(link_id, f'the item type "{item_type}" is not supported')
    if item_type not in ANSWERABLE_TYPES and item_type not in STRUCTURAL_TYPES:
        return ItemProblem(link_id, f'unknown item type "{item_type}"')
    return None


def _walk_item(walk, raw, value_sets, *, parent, ancestors, page_key, depth,
               scope) -> str | None:
    problems = walk.problems
    refused = _identity_problem(walk, raw, parent)
    if refused:
        problems.append(refused)
        return None
    link_id, item_type = raw["linkId"], raw["type"]
    page_key = page_key or link_id
    walk.raw[link_id] = raw
    children, help_texts = _children_and_help(link_id, item_type, raw, problems)
    # SDC entryFormat ("nn kg", "DD/MM/YYYY") is the hint under the question.
    help_texts = [ext.extension_value(raw, ext.HELP_TEXT), *help_texts,
                  ext.extension_value(raw, ext.ENTRY_FORMAT)]

    # Reserve the position before the children so that order is a pre-order walk.
    order = len(walk.items)
    walk.items[link_id] = None  # type: ignore[assignment]
    child_ids = []
    child_scope = _child_scope(raw, link_id, item_type, children, scope, problems)
    for child in children:
        child_id = _walk_item(
            walk,
            child,
            value_sets,
            parent=link_id,
            ancestors=(*ancestors, link_id),
            page_key=page_key,
            depth=depth + (0 if parent is None and item_type == "group" else 1),
            scope=child_scope,
        )
        if child_id is not None:
            child_ids.append(child_id)
    walk.items[link_id] = _build_item(
        raw,
        link_id,
        item_type,
        value_sets,
        problems,
        parent=parent,
        ancestors=ancestors,
        page_key=page_key,
        order=order,
        depth=depth,
        children=tuple(child_ids),
        scope=scope,
        help_text="\n\n".join(t for t in help_texts if isinstance(t, str) and t.strip()),
    )
    return link_id


def _child_scope(raw, link_id, item_type, children, scope, problems) -> str | None:
    """The repeat scope of an item's children: a repeating group's instances hold the
    answers of everything inside it."""
    if raw.get("repeats") is not True:
        return scope
    if item_type != "group":
        if children:
            problems.append(ItemProblem(
                link_id, "items under a repeating question are not supported", True))
        return scope
    return link_id


def _children_and_help(link_id, item_type, raw, problems) -> tuple[list, list[str]]:
    """Split child items into real children and help text for this item.

    A display child with itemControl help/flyover is help for its parent; so is any
    display child of a question, which FHIR renders next to the question.
    """
    raw_children = raw.get("item") or []
    if not isinstance(raw_children, list):
        problems.append(ItemProblem(link_id, "item must be a list"))
        return [], []
    if item_type == "display" and raw_children:
        problems.append(ItemProblem(link_id, "a display item cannot contain items"))
        return [], []
    if item_type == "group" and not raw_children:
        problems.append(ItemProblem(link_id, "group has no items"))
    children, help_texts = [], []
    for child in raw_children:
        if item_rules.is_help_child(child, item_type):
            help_texts.append(child.get("text") or "")
        else:
            children.append(child)
    return children, help_texts


def _build_item(raw, link_id, item_type, value_sets, problems, **placement) -> Item:
    return Item(link_id=link_id, type=item_type,
                **item_rules.read_item(raw, link_id, item_type, value_sets, problems),
                **placement)
