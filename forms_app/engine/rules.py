"""Pass two of compilation: conditions, expressions, calculations and flag rules.

These refer to other items by linkId, so they are read once every item is known.

Every expression is FHIRPath, parsed here by fhirpathpy and evaluated by the engine
(``fhirpath``): SDC ``calculatedExpression``, ``enableWhenExpression``,
``initialExpression``, ``variable`` and ``targetConstraint``, in the language
"text/fhirpath". The designer's own ``computed`` formulas are compiled to FHIRPath here,
so one evaluator runs them all. An expression that cannot be read, or one in another
language, is a DefinitionError: a score or condition that silently does not apply is
unsafe.
"""

from dataclasses import replace
from typing import Any

from . import extensions as ext
from .answer_expressions import read_answer_expression
from .conditions import parse_enable_when
from .errors import ItemProblem
from .expressions import ExpressionError, parse_expression, to_fhirpath
from .fhirpath import FhirPath, FhirPathError, compile_fhirpath
from .items import SEVERITIES, Calculation, Constraint, FlagRule, Item, Variable
from .parsing import Walk

CALCULABLE_TYPES = frozenset(
    {"integer", "decimal", "quantity", "string", "text", "boolean", "date", "dateTime",
     "choice", "open-choice"}
)
_NUMERIC_TYPES = frozenset({"integer", "decimal", "quantity", "boolean"})


def apply_rules(walk: Walk, definition: dict) -> list[FlagRule]:
    items = walk.items
    for link_id, item in list(items.items()):
        raw = walk.raw[link_id]
        enable_when = parse_enable_when(
            link_id,
            raw.get("enableWhen"),
            raw.get("enableBehavior"),
            _earlier_answerable(items, item),
            walk.problems,
        )
        expressions = _item_expressions(item, raw, items, walk.problems)
        answer_expression = read_answer_expression(
            item, raw, [definition, *(walk.raw[a] for a in item.ancestors), raw],
            # Clinical: the question would offer the wrong list, or none.
            lambda m, i=link_id: walk.problems.append(ItemProblem(i, m, True)))
        if answer_expression is not None:
            expressions["answer_expression"] = answer_expression
        if enable_when or expressions:
            items[link_id] = replace(item, enable_when=enable_when, **expressions)
    flag_rules = _flag_rules(None, definition, items, walk.problems)
    for link_id in items:
        flag_rules += _flag_rules(link_id, walk.raw[link_id], items, walk.problems)
    codes = [rule.code for rule in flag_rules]
    for code in {c for c in codes if codes.count(c) > 1}:
        walk.problems.append(f'Flag rule "{code}" is defined more than once')
    return flag_rules


def _earlier_answerable(items: dict[str, Item], owner: Item):
    def lookup(link_id: str) -> Item | None:
        target = items.get(link_id)
        if target is None:
            raise LookupError("which does not exist")
        if target.order >= owner.order:
            raise LookupError("which is not earlier in the form")
        if target.is_answerable and not target.is_question:
            raise LookupError("which the patient does not answer")
        return target

    return lookup


def _any_answerable(items: dict[str, Item]):
    def lookup(link_id: str) -> Item | None:
        if link_id not in items:
            raise LookupError("which does not exist")
        return items[link_id]

    return lookup


def expression_of(value: Any, what: str, problem) -> FhirPath | None:
    """A valueExpression's FHIRPath, or None with the reason recorded."""
    if not isinstance(value, dict):
        problem(f"{what} needs a valueExpression")
        return None
    language = value.get("language")
    if language != ext.FHIRPATH_LANGUAGE:
        problem(f'{what} is written in "{language}"; only FHIRPath (text/fhirpath) is '
                "supported")
        return None
    try:
        return compile_fhirpath(value.get("expression"))
    except FhirPathError as error:
        problem(f"{what} cannot be read: {error}")
        return None


def variables_of(element: dict, problem) -> tuple[Variable, ...]:
    variables = []
    for extension in ext.extensions(element, ext.VARIABLE):
        value = extension.get("valueExpression")
        name = value.get("name") if isinstance(value, dict) else None
        if not isinstance(name, str) or not name.isidentifier():
            problem("a variable needs a name made of letters, digits and underscores")
            continue
        expression = expression_of(value, f'variable "{name}"', problem)
        if expression is not None:
            variables.append(Variable(name, expression))
    return tuple(variables)


def _item_expressions(item: Item, raw: dict, items: dict[str, Item], problems) -> dict:
    def problem(message: str) -> None:
        # Calculations, conditions and constraints: each changes what the form means.
        problems.append(ItemProblem(item.link_id, message, True))

    found: dict[str, Any] = {}
    calculation = _calculation(item, raw, items, problem)
    if calculation is not None:
        found["calculation"] = calculation
    for url, name in ((ext.ENABLE_WHEN_EXPRESSION, "enable_expression"),
                      (ext.INITIAL_EXPRESSION, "initial_expression")):
        extension = ext.extension(raw, url)
        if extension is not None:
            what = url.rsplit("-", 1)[-1]
            expression = expression_of(extension.get("valueExpression"), what, problem)
            if expression is not None:
                found[name] = expression
    if "enable_expression" in found and item.enable_when is not None:
        problem("it has both enableWhen and enableWhenExpression; use one")
    variables = variables_of(raw, problem)
    if variables:
        found["variables"] = variables
    constraints = _constraints(raw, problem)
    if constraints:
        found["constraints"] = constraints
    if item.is_repeat_root and set(found) - ({"variables"} if item.is_repeating_group
                                             else set()):
        # Inside a repeating group each instance is evaluated on its own (evaluation);
        # on the repeat itself an expression would have to decide for every instance
        # at once, which SDC leaves undefined: a score or condition silently applied
        # differently from what the author meant is worse than a refused form.
        problem("only a variable can be put on a repeating item itself; put the "
                "expression on an item inside it")
    return found


def _constraints(raw: dict, problem) -> tuple[Constraint, ...]:
    constraints = []
    for extension in ext.extensions(raw, ext.TARGET_CONSTRAINT):
        key = ext.extension_value(extension, "key")
        human = ext.extension_value(extension, "human")
        severity = ext.extension_value(extension, "severity") or "error"
        if not isinstance(human, str) or not human.strip() or severity not in (
            "error", "warning"
        ):
            problem("a targetConstraint needs a human message and severity error or warning")
            continue
        part = ext.extension(extension, "expression")
        expression = expression_of(
            part.get("valueExpression") if part else None, "targetConstraint", problem
        )
        if expression is not None:
            constraints.append(Constraint(str(key or ""), human, expression, severity))
    return tuple(constraints)


def _quoted(link_id: str) -> str:
    return "'" + link_id.replace("\\", "\\\\").replace("'", "\\'") + "'"


def designer_value_path(target: Item) -> str:
    """FHIRPath of an item's answer as a number, as the designer's formulas read it."""
    answer = f"%resource.repeat(item).where(linkId={_quoted(target.link_id)}).answer"
    if target.type == "quantity":
        return answer + ".value.value"
    if target.type == "boolean":
        return answer + ".value.select(iif($this, 1, 0))"
    if target.type in ("choice", "open-choice") and not all(
        option.kind == "Integer" for option in target.options
    ):
        return f"iif({answer}.exists(), {answer}.value.ordinal().sum(), {{}})"
    return answer + ".value"


def _calculation(item: Item, raw: dict, items: dict[str, Item], problem) -> Calculation | None:
    computed = ext.extension_value(raw, ext.COMPUTED)
    sdc = ext.extension(raw, ext.CALCULATED_EXPRESSION)
    if computed is None and sdc is None:
        return None
    if item.type not in CALCULABLE_TYPES:
        problem(f"a {item.type} item cannot be calculated")
        return None
    if computed is None:
        expression = expression_of(sdc.get("valueExpression"), "calculatedExpression", problem)
        return Calculation(expression) if expression is not None else None
    return _formula(item, computed, items, problem)


def _formula(item: Item, computed: str, items: dict[str, Item], problem) -> Calculation | None:
    """A designer formula (our computed extension) as the FHIRPath the engine evaluates."""
    refused = _formula_refused(item)
    if refused:
        problem(refused)
        return None
    try:
        formula = parse_expression(computed)
    except ExpressionError as error:
        problem(f"the computed expression cannot be read: {error}")
        return None
    for name in formula.references:
        refused = _reference_refused(item, items.get(name))
        if refused:
            problem(f'the computed expression refers to "{name}", {refused}')
            return None
    text = to_fhirpath(formula, lambda name: designer_value_path(items[name]))
    return Calculation(compile_fhirpath(text), source="designer", formula=computed)


def _reference_refused(item: Item, target: Item | None) -> str | None:
    """Why a formula on ``item`` cannot read ``target`` (the item a name refers to), or None."""
    if target is None:
        return "which does not exist"
    if target.read_only and target.order >= item.order:
        return "which is not earlier"
    if target.type not in _NUMERIC_TYPES and not (
        target.type in ("choice", "open-choice")
        and any(option.numeric is not None for option in target.options)
    ):
        return "which has no number"
    return None


def _formula_refused(item: Item) -> str | None:
    """Why ``item`` cannot have a designer formula, or None."""
    if item.type not in ("integer", "decimal"):
        return "only integer and decimal items can have a formula"
    if item.scope is not None:
        # A formula reads answers by linkId across the whole response, so inside a
        # repeating group it would add up every instance, not the one it sits in.
        return ("a formula inside a repeating group is not supported; use an SDC "
                "calculatedExpression, which is evaluated per instance")
    return None


def _flag_rules(owner: str | None, element: dict, items, problems) -> list[FlagRule]:
    rules = []
    where = f'Item "{owner}"' if owner else "The form"
    for rule_ext in ext.extensions(element, ext.FLAG_RULE):
        code = ext.extension_value(rule_ext, "code")
        severity = ext.extension_value(rule_ext, "severity")
        message = ext.extension_value(rule_ext, "message")
        if not (
            isinstance(code, str)
            and code
            and isinstance(severity, str)
            and severity in SEVERITIES
            and isinstance(message, str)
            and message
        ):
            problems.append(
                f"{where}: a flag-rule needs a code, a severity "
                '("urgent" or "routine") and a message'
            )
            continue
        conditions = [_condition_dict(part) for part in ext.extensions(rule_ext, "condition")]
        if not conditions:
            problems.append(f'{where}: flag-rule "{code}" has no condition')
            continue
        enable_when = parse_enable_when(
            owner or code,
            conditions,
            ext.extension_value(rule_ext, "enableBehavior"),
            _any_answerable(items),
            problems,
            what=f'flag-rule "{code}"',
        )
        if enable_when is not None:
            rules.append(FlagRule(code, severity, message, enable_when, owner))
    return rules


def _condition_dict(part: dict) -> dict[str, Any]:
    """A flag-rule condition (question, operator, answer[x] parts) in enableWhen shape."""
    condition: dict[str, Any] = {
        "question": ext.extension_value(part, "question"),
        "operator": ext.extension_value(part, "operator"),
    }
    kind, value = ext.value_of(ext.extension(part, "answer"))
    if kind is not None:
        condition["answer" + kind] = value
    return condition
