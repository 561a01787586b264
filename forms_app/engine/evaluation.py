"""Evaluating a form's FHIRPath against the response so far.

The response FHIRPath sees (``%resource``) is the QuestionnaireResponse the engine
would file for the answers kept so far, with each chosen option's score written on its
Coding (an itemWeight extension) so that ``ordinal()`` reads the instrument's own
scores. ``%questionnaire`` is the definition, ``%patient`` the launch context's Patient,
and the form's and enclosing items' ``variable``s are there by name.

Inside a repeating group each instance is evaluated on its own (SDC): ``chain`` names
the instances enclosing the item, outermost first, as (group Item, that instance's
answers); ``%context`` is the item's QuestionnaireResponse item in that instance (an
item with no answer yet is there empty), and each expression starts from it, as
LHC-Forms does. A variable
on the group (or on an item inside it) starts from its own item in the same instance,
so a group variable ``item.where(linkId='age').answer.value`` is that relative's age
and a calculatedExpression ``%age < 50`` inside the group is that relative's flag.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fhirpathpy.engine.nodes import ResourceNode

from .answers import from_fhirpath
from .items import Item
from .summary import instance_item, response_items
from .values import to_decimal


class ResponseContext:
    """One reading of the answers: builds %resource once per change of the values."""

    def __init__(self, form, enabled: set[str], values: Mapping[str, Any],
                 launch: Mapping[str, Any] | None = None):
        self.form = form
        self.enabled = enabled
        self.values = dict(values)
        self.launch = dict(launch or {})
        self._resource: dict | None = None
        self._root_variables: dict | None = None

    def set(self, link_id: str, value: Any) -> None:
        if value is None:
            if self.values.pop(link_id, None) is not None:
                self._changed()
        elif self.values.get(link_id) != value:
            self.values[link_id] = value
            self._changed()

    def changed(self) -> None:
        """Something inside an instance of ``values`` changed (a calculated value)."""
        self._changed()

    def _changed(self) -> None:
        self._resource = None
        self._root_variables = None

    @property
    def resource(self) -> dict:
        if self._resource is None:
            self._resource = {
                "resourceType": "QuestionnaireResponse",
                "status": "in-progress",
                "item": response_items(
                    # A worked-out option's Coding, as the filed response will hold it.
                    self.form.items_answered(self.values),
                    self.form.top_level, self.enabled, self.values, scored=True,
                ),
            }
        return self._resource

    def _base_variables(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "rootResource": self.resource,  # SDC: the response being filled in
            "questionnaire": self.form.definition,
            **self.launch,
        }

    def variables_for(self, item: Item | None) -> dict[str, Any]:
        if self._root_variables is None:
            found = self._base_variables()
            for variable in self.form.variables:
                found[variable.name] = _collection(variable.expression.evaluate(
                    self.resource, found))
            self._root_variables = found
        found = dict(self._root_variables)
        if item is None:
            return found
        for link_id in (*item.ancestors, item.link_id):
            holder = self.form.items[link_id]
            if not holder.variables:
                continue
            # SDC: a variable's context is the item it is on, so a group's
            # ``item.where(linkId='height')`` reads that group's own question (as it
            # does in a repeating group's instance), not a top-level one.
            found["context"] = context = self._own_node(holder)
            for variable in holder.variables:
                found[variable.name] = _collection(variable.expression.evaluate(
                    context, found, keep_nodes=True))
        found["context"] = self.node_for(item)
        return found

    def _own_node(self, item: Item) -> Any:
        """``item``'s node in the response, or an empty item of its own when nothing in
        it is answered yet (so a relative path finds nothing, never a top-level item)."""
        node = _find(self.resource.get("item") or [], [*item.ancestors, item.link_id])
        return ResourceNode.create_node(node or {"linkId": item.link_id},
                                        "QuestionnaireResponse.item")

    def node_for(self, item: Item) -> Any:
        """%context for an item's expressions: its item in the response, or the response."""
        node = _find(self.resource.get("item") or [], [*item.ancestors, item.link_id])
        if node is None:
            return self.resource
        return ResourceNode.create_node(node, "QuestionnaireResponse.item")

    def evaluate(self, item: Item | None, expression, *, on_item: bool = False,
                 chain: tuple = ()) -> list:
        """``on_item``: evaluate on the item's own node (targetConstraint's context),
        else on the whole response (the other expressions; %context is the item).
        ``chain``: the instances enclosing ``item`` (see the module docstring)."""
        if chain:
            # In an instance every expression starts from its item there (SDC's context).
            variables = self._instance_variables(item, chain)
            return expression.evaluate(variables["context"], variables)
        variables = self.variables_for(item)
        base = variables.get("context", self.resource) if on_item else self.resource
        return expression.evaluate(base, variables)

    def _instance_variables(self, item: Item, chain: tuple) -> dict[str, Any]:
        self.variables_for(None)
        found = dict(self._root_variables)
        nodes = [(group, instance_item(self.form.items, group, instance, scored=True))
                 for group, instance in chain]
        for link_id in (*item.ancestors, item.link_id):
            holder = self.form.items[link_id]
            if not holder.variables and link_id != item.link_id:
                continue
            found["context"] = context = self._node_in(holder, nodes)
            for variable in holder.variables:
                found[variable.name] = _collection(variable.expression.evaluate(
                    context, found, keep_nodes=True))
        return found

    def _node_in(self, item: Item, nodes: list) -> Any:
        """``item``'s node in the innermost enclosing instance (an empty item of its
        own when unanswered there); the response's node outside every instance."""
        for group, node in reversed(nodes):
            if item.link_id == group.link_id:
                return ResourceNode.create_node(node, "QuestionnaireResponse.item")
            if group.link_id in item.ancestors:
                path = item.ancestors[item.ancestors.index(group.link_id) + 1:]
                found = _find(node.get("item") or [], [*path, item.link_id])
                return ResourceNode.create_node(found or {"linkId": item.link_id},
                                                "QuestionnaireResponse.item")
        return self.node_for(item)


def _find(nodes: list, path: list) -> dict | None:
    for node in nodes:
        if node.get("linkId") == path[0]:
            if len(path) == 1:
                return node
            inner = list(node.get("item") or [])
            for answer in node.get("answer") or []:
                inner += answer.get("item") or []
            return _find(inner, path[1:])
    return None


def _collection(result: list) -> Any:
    return result[0] if len(result) == 1 else result


def as_answer(item: Item, result: list) -> Any:
    """A calculated expression's result in the stored answer shape of ``item``, or None."""
    if len(result) != 1:
        return None
    return from_fhirpath(item, result[0])


def as_score(item: Item, value: Any) -> int | Decimal | None:
    """A calculated number as Evaluation.scores holds it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = to_decimal(value.get("value") if isinstance(value, dict) else value)
    return number if item.type in ("decimal", "quantity") else None
