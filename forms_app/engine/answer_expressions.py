"""SDC answerExpression whose answer options come from the form itself.

An answerExpression (sdc-questionnaire-answerExpression) on a choice question gives
its options as FHIRPath, e.g. "Which one causes you the most trouble?" offering the
medicines named earlier::

    %resource.repeat(item).where(linkId='medicines').answer.value

Only *form-internal* expressions are honoured, decided statically (``is_form_internal``):
FHIRPath that reads nothing but %resource, %context, %questionnaire, %rootResource,
%ucum and the form's own variables, and calls no resolve() (which would reach outside
the form). One that reads %patient or any other launch context, or is an x-fhir-query,
would offer options from the patient's record, which this platform does not evaluate
for choices: the importer keeps it a clinical note that blocks publishing.

The rules a patient meets (tests/forms_app/engine/test_answer_expressions.py):

* The options are worked out from the answers kept on *earlier pages* only. Answers on
  the question's own page are not saved yet when it is shown, and a page whose options
  changed while the patient typed would not be the page they read.
* Each result becomes an option: a string is an option with that text (filed as
  valueString), a Coding keeps its system, code and display (valueCoding), an integer
  is an integer option. Repeats are shown once (the first wins); empty strings and
  Codings without a code are left out.
* No options (nothing named earlier) → the question does not apply: it is skipped and
  never required, like a question hidden by enableWhen, so the patient is never stuck
  on a question they cannot answer.
* A saved answer that is no longer one of the options (an earlier answer changed) is
  not kept: the page is asked again before "check your answers" (validated_answers
  re-checks every page), and it is never filed.
"""

import hashlib
import json
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from . import extensions as ext
from .fhirpath import FhirPathError, compile_fhirpath
from .items import Item, Option

# The environment variables an expression may read and still be about this form only.
FORM_CONSTANTS = frozenset({"resource", "context", "questionnaire", "rootResource", "ucum"})
# Functions that fetch or reach outside the response being filled in.
OUTSIDE_FUNCTIONS = frozenset({"resolve", "memberOf", "conformsTo", "expand", "lookup",
                               "validateVS", "validateCS", "subsumes", "subsumedBy",
                               "translate"})
# More options than this is no longer a question a patient can read.
MAX_OPTIONS = 100
# How long, and how many, worked-out options are kept (OptionsCache).
CACHE_SECONDS = 30
CACHE_SIZE = 64


def _names(tree: Any) -> tuple[set[str], set[str]]:
    """(external constants, function names) used anywhere in a parsed expression."""
    constants: set[str] = set()
    functions: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        children = node.get("children") or []
        if node.get("type") in ("ExternalConstant", "Functn") and children:
            first = children[0]
            name = (first.get("text") or "".join(first.get("terminalNodeText") or ())
                    if isinstance(first, dict) else "")
            name = name.strip("`'\"")
            (constants if node["type"] == "ExternalConstant" else functions).add(name)
        stack.extend(children)
    return constants, functions


def reads_only(value: Any, allowed: Iterable[str]) -> bool:
    """Whether a valueExpression is FHIRPath reading only ``allowed`` %constants (and
    FORM_CONSTANTS), calling nothing that reaches outside the form."""
    if not isinstance(value, dict) or value.get("language") != ext.FHIRPATH_LANGUAGE:
        return False
    try:
        tree = compile_fhirpath(value.get("expression")).tree
    except FhirPathError:
        return False
    constants, functions = _names(tree)
    return constants <= FORM_CONSTANTS | set(allowed) and not functions & OUTSIDE_FUNCTIONS


def _every_element(definition: Any) -> list[dict]:
    """The Questionnaire and every item in it, nested ones too."""
    found, stack = [], [definition]
    while stack:
        element = stack.pop()
        if isinstance(element, dict):
            found.append(element)
            stack.extend(ext.as_list(element.get("item")))
    return found


def internal_variables(elements: Iterable[Any]) -> frozenset[str]:
    """The names of the variables declared on ``elements`` (the Questionnaire, items)
    that are themselves form-internal (a variable may read another: worked out until
    nothing changes)."""
    variables = [extension["valueExpression"]
                 for element in elements if isinstance(element, dict)
                 for extension in ext.extensions(element, ext.VARIABLE)
                 if isinstance(extension.get("valueExpression"), dict)
                 and isinstance(extension["valueExpression"].get("name"), str)]
    names: set[str] = set()
    while True:
        more = {value["name"] for value in variables
                if value["name"] not in names and reads_only(value, names)}
        if not more:
            return frozenset(names)
        names |= more


def is_form_internal(extension: Any, definition: Any, scope: Iterable[Any] | None = None,
                     ) -> bool:
    """Whether an answerExpression extension takes its options from the form itself.

    ``scope``: the elements whose variables it can see (the Questionnaire, the item's
    enclosing items and the item itself); by default every variable of the form, as
    the importer reads it (the engine checks the scope when the form is published)."""
    value = extension.get("valueExpression") if isinstance(extension, dict) else None
    elements = _every_element(definition) if scope is None else scope
    return reads_only(value, internal_variables(elements))


def options_from(result: list) -> tuple[Option, ...]:
    """An expression's result as answer options (see the module docstring)."""
    options: dict[str, Option] = {}
    for value in result:
        option = _option(value)
        if option is not None and option.code not in options:
            options[option.code] = option
        if len(options) >= MAX_OPTIONS:
            break
    return tuple(options.values())


def _option(value: Any) -> Option | None:
    if isinstance(value, str):
        text = value.strip()
        return Option(text, text, "String", raw=text) if text else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Option(str(value), str(value), "Integer", raw=value)
    if isinstance(value, dict) and isinstance(value.get("code"), str) and value["code"]:
        coding = {key: value[key] for key in ("system", "code", "display")
                  if isinstance(value.get(key), str) and value[key]}
        return Option(coding["code"], coding.get("display") or coding["code"], "Coding",
                      system=coding.get("system"), raw=coding)
    return None


def with_options(item: Item, result: list) -> Item | None:
    """``item`` with the options its answerExpression gave, or None when it gave none
    (the question does not apply)."""
    options = options_from(result)
    return replace(item, options=options) if options else None


def earlier_answers(items: Mapping[str, Item], page_keys: list[str], item: Item,
                    kept: Mapping[str, Any]) -> dict[str, Any]:
    """The kept answers on the pages before ``item``'s: all its options may read."""
    position = {key: n for n, key in enumerate(page_keys)}
    own = position.get(item.page_key, -1)
    return {link_id: value for link_id, value in kept.items()
            if link_id in items and position.get(items[link_id].page_key, own) < own}


def expressed(items: Iterable[Item]) -> list[Item]:
    """The questions among ``items`` whose options an answerExpression works out."""
    return [item for item in items if item.answer_expression is not None]


def offered(items: list[Item], resolved: Mapping[str, Item]) -> list[Item]:
    """``items`` as a page offers them: an answerExpression question with the options
    worked out (``resolved``), or left out when it has none."""
    return [resolved.get(item.link_id, item) for item in items
            if item.answer_expression is None or item.link_id in resolved]


def signature(items: list[Item]) -> tuple:
    """A hashable reading of the worked-out options of ``items`` (Codings hold dicts),
    part of the key a page's form class is kept under."""
    return tuple((item.link_id, tuple((o.code, o.display, o.system, o.kind)
                                      for o in item.options))
                 for item in items if item.answer_expression is not None)


def read_answer_expression(item: Item, raw: dict, scope: list[Any], problem) -> Any:
    """The item's answerExpression as a FhirPath, or None (none, or refused with the
    reason recorded: options the platform cannot work out would be the wrong list).
    ``scope``: the Questionnaire, the item's enclosing items and the item itself."""
    extension = ext.extension(raw, ext.ANSWER_EXPRESSION)
    if extension is None:
        return None
    if item.type not in ("choice", "open-choice"):
        problem("only choice questions can have an answerExpression")
        return None
    if item.scope is not None:
        problem("an answerExpression inside a repeating group is not supported yet")
        return None
    if not is_form_internal(extension, None, scope):
        problem("its answerExpression reads from outside the form (e.g. %patient) or a "
                "variable it cannot see; only options worked out from the form's own "
                "answers are supported")
        return None
    return compile_fhirpath(extension["valueExpression"]["expression"])


def kept_expression(fhir_extensions: Any) -> str | None:
    """The FHIRPath of an answerExpression a draft item keeps verbatim, or None."""
    for extension in ext.as_list(fhir_extensions):
        if isinstance(extension, dict) and extension.get("url") == ext.ANSWER_EXPRESSION:
            value = extension.get("valueExpression")
            if isinstance(value, dict) and isinstance(value.get("expression"), str):
                return value["expression"]
    return None


class OptionsCache:
    """Worked-out options per question and reading of the earlier answers, kept briefly.

    A request walks the answers many times (the page, its form, what it enables), each
    walk asking for the options again; the answers change far less often. The options
    are what patients wrote, and no patient's answer may stay in the process after their
    request (the rule the component cache keeps too): every cache is emptied when a
    request or a task finishes (``forget_all``, connected in forms_app.apps). Keys are
    SHA-256 digests (no answer in a key), an entry older than CACHE_SECONDS is never
    used, and at most CACHE_SIZE are kept.
    """

    _all: "weakref.WeakSet[OptionsCache]" = weakref.WeakSet()

    def __init__(self):
        self._entries: dict[str, tuple[float, Any]] = {}
        OptionsCache._all.add(self)

    @classmethod
    def forget_all(cls, **_signal) -> None:
        """Empty every cache (at the end of each request and task)."""
        for cache in list(cls._all):
            cache._entries = {}

    def get(self, link_id: str, earlier: Mapping[str, Any], compute: Callable[[], Any]):
        key = hashlib.sha256(json.dumps([link_id, earlier], sort_keys=True,
                                        default=str).encode()).hexdigest()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = compute()
        # A new dict, swapped in whole: requests on other threads read the old one.
        fresh = {k: e for k, e in self._entries.items() if now - e[0] < CACHE_SECONDS}
        if len(fresh) >= CACHE_SIZE:
            fresh = {}
        fresh[key] = (now, value)
        self._entries = fresh
        return value
