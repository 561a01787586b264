"""Repeating groups and repeating questions on a page: the GOV.UK "add another" pattern.

Answers
    A repeating group's answer is a list of instances, each a ``{linkId: value}`` dict
    of the items inside it (a repeating group inside holds its own list); a repeating
    question's answer is a list of values. A blank instance is no instance.

Fields
    An instance's fields are named by path: ``relative~0~relation`` is "relation" in
    the first "relative"; ``relative~1~condition~0~condition-name`` goes one level
    down; ``alias~2`` is the third answer to the repeating question "alias". A hidden
    ``<path>~n`` field holds each list's number of instances, so the page works without
    JavaScript: "Add another" and "Remove" post the page (ADD and REMOVE name the
    list or the instance), and it comes back with one instance more or fewer.
"""

import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from .items import Item
from .values import is_empty

SEP = "~"
COUNT = "n"
MAX_INSTANCES = 50  # whatever maxOccurs says: a bound on what one page posts
ADD = "engine_add"
REMOVE = "engine_remove"
_TARGET = re.compile(r"^(?:[^~\s]+~\d+~)*[^~\s]+(?:~\d+)?$")


def count_name(path: str, item: Item) -> str:
    return f"{path}{item.link_id}{SEP}{COUNT}"


def instance_name(path: str, item: Item, index: int) -> str:
    return f"{path}{item.link_id}{SEP}{index}"


def label(item: Item) -> str:
    """The instance's name: the short-label extension, else the text without "A "."""
    text = (item.short_label or item.text or item.link_id).strip()
    for article in ("A ", "An ", "a ", "an "):
        if text.startswith(article) and len(text) > len(article):
            text = text[len(article):]
            break
    return text[:1].upper() + text[1:]


def instance_label(item: Item, number: int) -> str:
    return _("%(name)s %(number)s") % {"name": label(item), "number": number}


def add_label(item: Item) -> str:
    return _("Add another %(name)s") % {"name": label(item).lower()}


@dataclass
class Instance:
    index: int
    path: str  # the prefix of this instance's field names, e.g. "relative~0~"
    # ("field", item, name), ("repeat", RepeatNode), ("display", item), ("heading", item)
    members: list = field(default_factory=list)


@dataclass
class RepeatNode:
    item: Item
    path: str  # the prefix of the enclosing instance ("" on the page itself)
    count_name: str
    instances: list[Instance] = field(default_factory=list)

    @property
    def limit(self) -> int:
        return min(self.item.max_occurs or MAX_INSTANCES, MAX_INSTANCES)

    @property
    def minimum(self) -> int:
        return max(self.item.min_occurs, 1 if self.item.required else 0)


def instance_count(form: forms.Form, item: Item, name: str, initial: Any) -> int:
    """How many instances to show: as posted, else the answers or initial values
    saved, else one (and always within minOccurs and maxOccurs)."""
    count = None
    if form.is_bound:
        try:
            count = int(form.data.get(form.add_prefix(name)))
        except (TypeError, ValueError):
            count = None
    if count is None:
        known = initial if isinstance(initial, list) else item.initial
        count = len(known) if isinstance(known, list) and known else 1
    limit = min(item.max_occurs or MAX_INSTANCES, MAX_INSTANCES)
    return max(item.min_occurs, min(count, limit), 1)


def build_repeat(form, item: Item, path: str, initial: Any, build_field, members_of) -> RepeatNode:
    """Add the fields of ``item``'s instances to ``form``; the page layout they make."""
    node = RepeatNode(item, path, count_name(path, item))
    # The count is no field: the page writes it as it is now (views: repeat_block), which
    # a new instance's bound field could not (its name is not in the posted data yet).
    count = instance_count(form, item, node.count_name, initial)
    initials = initial if isinstance(initial, list) else (
        item.initial if isinstance(item.initial, list) else [])
    for index in range(count):
        known = initials[index] if index < len(initials) else None
        name = instance_name(path, item, index)
        instance = Instance(index, name + SEP)
        if not item.is_repeating_group:
            form.fields[name] = build_field(item, required=False, initial=known)
            instance.members.append(("field", item, name))
        else:
            _add_members(form, item, instance, known if isinstance(known, dict) else {},
                         build_field, members_of)
        node.instances.append(instance)
    return node


def _add_members(form, group: Item, instance: Instance, known: dict, build_field,
                 members_of) -> None:
    """The fields (and text, sub-headings, inner repeats) of one group instance."""
    for member in members_of(group.link_id):
        if member.hidden or member.read_only:
            continue
        if member.is_repeat_root:
            instance.members.append(("repeat", build_repeat(
                form, member, instance.path, known.get(member.link_id), build_field,
                members_of)))
        elif member.is_question:
            name = instance.path + member.link_id
            form.fields[name] = build_field(member, required=False,
                                            initial=known.get(member.link_id))
            instance.members.append(("field", member, name))
        elif member.type in ("display", "group") and member.text:
            instance.members.append(("display" if member.type == "display" else "heading",
                                     member))


class RepeatCleaner:
    """Turns an instance's cleaned fields into the answer's list, requiring what the
    instance's own answers enable (a hidden question is neither required nor kept) and
    checking each answer's targetConstraint in its own instance.

    ``chain``: the enclosing instances, outermost first, as (group Item, answers)."""

    def __init__(self, form, walk_instance, instance_errors=None):
        self.form = form
        self.walk_instance = walk_instance
        self.instance_errors = instance_errors
        self.enabled_names: set[str] = set()

    def collect(self, node: RepeatNode, outer: Mapping[str, Any], chain: tuple = ()
                ) -> list | None:
        values = []
        for instance in node.instances:
            if node.item.is_repeating_group:
                value = self._group_instance(node, instance, outer, chain)
            else:
                _, _, name = instance.members[0]
                self.enabled_names.add(name)
                value = self.form.cleaned_data.get(name)
                value = None if is_empty(value) else value
            if value is not None:
                values.append(value)
        if len(values) < node.minimum and node.instances:
            first = self._first_field(node.instances[len(values)]
                                      if len(values) < len(node.instances)
                                      else node.instances[0])
            if first is not None and first not in self.form.errors:
                self.form.add_error(first, self.form.fields[first].error_messages["required"])
        return values or None

    def _group_instance(self, node, instance: Instance, outer, chain) -> dict | None:
        raw: dict[str, Any] = {}
        self._raw_instance(instance, outer, (*chain, (node.item, raw)))
        fields = [(member, name) for kind, *rest in instance.members if kind == "field"
                  for member, name in [rest]]
        blank = not raw and not any(name in self.form.errors for _, name in fields)
        # Added and left empty: shown, but nothing to require.
        optional = blank and instance.index >= node.minimum
        enabled, kept = self.walk_instance(node.item.link_id, raw, outer, chain=chain)
        for member, name in fields:
            if member.link_id in enabled:
                self.enabled_names.add(name)
                self._require(member, name, raw, optional)
            else:
                self.form.errors.pop(name, None)
                raw.pop(member.link_id, None)
        if self.instance_errors is not None:
            problems = self.instance_errors(node.item.link_id, kept, outer, chain)
            for member, name in fields:
                if member.link_id in problems and name not in self.form.errors:
                    self.form.add_error(name, problems[member.link_id])
        return raw or None

    def _raw_instance(self, instance: Instance, outer, chain) -> None:
        """The instance's answers as cleaned (into ``chain``'s last instance), inner
        lists collected in form order."""
        raw = chain[-1][1]
        lookup = ChainMap(raw, outer)
        for kind, *rest in instance.members:
            if kind == "field":
                value = self.form.cleaned_data.get(rest[1])
                if not is_empty(value):
                    raw[rest[0].link_id] = value
            elif kind == "repeat":
                inner = self.collect(rest[0], lookup, chain)
                if inner is not None:
                    raw[rest[0].item.link_id] = inner

    def _require(self, member: Item, name: str, raw: dict, optional: bool) -> None:
        form = self.form
        if member.required and not optional and member.link_id not in raw \
                and name not in form.errors:
            form.add_error(name, form.fields[name].error_messages["required"])

    @staticmethod
    def _first_field(instance: Instance) -> str | None:
        for kind, *rest in instance.members:
            if kind == "field":
                return rest[1]
            if kind == "repeat" and rest[0].instances:
                found = RepeatCleaner._first_field(rest[0].instances[0])
                if found:
                    return found
        return None


def changed_data(data, prefix: str, action: str, target: str):
    """A copy of the posted ``data`` with one instance added to the list ``target``
    (ADD) or the instance ``target`` removed (REMOVE, later ones moved up); None when
    ``target`` is not a name this module makes."""
    if not isinstance(target, str) or len(target) > 1000 or not _TARGET.match(target):
        return None
    lead = f"{prefix}-" if prefix else ""
    if action == ADD:
        return _added(data.copy(), f"{lead}{target}{SEP}{COUNT}")
    base, _, index_text = target.rpartition(SEP)
    if not base or not index_text.isdigit():
        return None
    return _removed(data.copy(), lead + base, int(index_text))


def _added(data, key: str):
    try:
        count = int(data.get(key) or 0)
    except ValueError:
        return None
    data[key] = str(min(count + 1, MAX_INSTANCES))
    return data


def _removed(data, base: str, index: int):
    """``data`` without instance ``index`` of the list ``base``, later ones moved up."""
    pattern = re.compile(rf"^{re.escape(base + SEP)}(\d+)(?=$|[~_])")
    moves = []
    for key in list(data.keys()):
        match = pattern.match(key)
        position = int(match[1]) if match else -1
        if position == index:
            del data[key]
        elif position > index:
            moves.append((position, key, f"{base}{SEP}{position - 1}{key[match.end():]}"))
    for _position, old, new in sorted(moves):
        data.setlist(new, data.getlist(old))
        del data[old]
    key = f"{base}{SEP}{COUNT}"
    try:
        data[key] = str(max(int(data.get(key) or 1) - 1, 0))
    except ValueError:
        return None
    return data
