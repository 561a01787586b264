"""FHIRPath, evaluated by fhirpathpy, with the SDC functions it lacks.

The one evaluator of every expression in a form: SDC ``variable``,
``calculatedExpression``, ``enableWhenExpression``, ``initialExpression``,
``answerExpression`` and ``targetConstraint``, and the designer's own formulas, which
compile to FHIRPath (``expressions.to_fhirpath``). Nothing here calls ``eval``:
fhirpathpy parses the expression into a tree and walks it.

fhirpathpy 2.2 lacks three functions that real SDC forms use, added here through its
invocation table (user functions override built-in ones of the same name):

``ordinal()`` / ``weight()``
    The score of each input Coding (or answer): its itemWeight or ordinalValue
    extension. The engine writes the option's score onto each coded answer of the
    response it evaluates against (``response.evaluation_resource``), so the score
    comes from the instrument itself: answerOption, its Coding, or a contained ValueSet
    concept.
``answers()``
    Every answer of the input items and of the items nested below them.
``sum(expr)``
    ``x.sum(expr)`` sums ``expr`` over each input, as fhirpath.js allows; ``sum()``
    without an argument is FHIRPath's own aggregate.

and it replaces ``round()``, whose fhirpathpy version rounds half to even and has no
zero-argument form: FHIRPath rounds half away from zero, to 0 places by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from antlr4.tree.Tree import ParseTreeWalker
from fhirpathpy.engine import do_eval
from fhirpathpy.engine.invocations.constants import constants
from fhirpathpy.engine.nodes import FP_Quantity, FP_Type, ResourceNode
from fhirpathpy.engine.util import arraify, get_data
from fhirpathpy.models import models
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

WEIGHT_URLS = frozenset(
    {
        "http://hl7.org/fhir/StructureDefinition/itemWeight",
        "http://hl7.org/fhir/StructureDefinition/ordinalValue",
        "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue",
    }
)
MAX_LENGTH = 4000
_MODEL = models["r4"]
_ANSWER_PATH = "QuestionnaireResponse.item.answer"


class FhirPathError(ValueError):
    """An expression that cannot be parsed."""


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return None


def _weights(ctx, data):
    scores = []
    for node in arraify(data):
        raw = get_data(node)
        if not isinstance(raw, dict):
            continue
        # An answer carries its score on its valueCoding; a Coding carries it itself.
        coding = raw.get("valueCoding") if isinstance(raw.get("valueCoding"), dict) else raw
        for extension in coding.get("extension") or ():
            if isinstance(extension, dict) and extension.get("url") in WEIGHT_URLS:
                number = _number(extension.get("valueDecimal", extension.get("valueInteger")))
                if number is not None:
                    scores.append(number)
                    break
    return scores


def _answers(ctx, data):
    found = []

    def walk(raw):
        if not isinstance(raw, dict):
            return
        for answer in raw.get("answer") or ():
            if isinstance(answer, dict):
                found.append(ResourceNode.create_node(answer, _ANSWER_PATH))
                for child in answer.get("item") or ():
                    walk(child)
        for child in raw.get("item") or ():
            walk(child)

    for node in arraify(data):
        walk(get_data(node))
    return found


def _sum(ctx, data, expr=None):
    values = arraify(data)
    if expr is not None:
        values = [value for item in values for value in arraify(expr(item))]
    total = Decimal(0)
    for value in values:
        number = _number(get_data(value))
        if number is None:
            raise FhirPathError("sum() of something that is not a number")
        total += number
    return total


def _round(ctx, data, places=None):
    if not data:
        return []
    number = _number(get_data(arraify(data)[0]))
    if number is None:
        return []
    digits = 0 if not places else int(places[0]) if isinstance(places, list) else int(places)
    return number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _power(ctx, data, exponent):
    """FHIRPath power(): a negative base with a whole exponent is a number (fhirpathpy
    gives empty); only a result that is not a real number is empty."""
    if not data or not exponent:
        return []
    base = _number(get_data(arraify(data)[0]))
    power = _number(get_data(arraify(exponent)[0]))
    if base is None or power is None:
        return []
    if power == power.to_integral_value():
        if base == 0 and power < 0:
            return []
        return base ** int(power)
    if base < 0:
        return []
    return base ** power


USER_FUNCTIONS = {
    "power": {"fn": _power, "arity": {1: ["Number"]}},
    "ordinal": {"fn": _weights},
    "weight": {"fn": _weights},
    "answers": {"fn": _answers},
    "sum": {"fn": _sum, "arity": {0: [], 1: ["Expr"]}},
    "round": {"fn": _round, "arity": {0: [], 1: ["Integer"]}},
}


def _plain(node: Any) -> Any:
    """A result node as plain JSON-ish Python (Decimal for numbers, str for dates)."""
    data = get_data(node)
    if isinstance(data, FP_Quantity):
        return {"value": data.value, "unit": data.unit}
    if isinstance(data, FP_Type):
        return str(data)
    if isinstance(data, list):
        return [_plain(item) for item in data]
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, float):
        return Decimal(str(data))
    return data


@dataclass(frozen=True)
class FhirPath:
    """One parsed expression; evaluate it as often as needed."""

    text: str
    tree: Any

    def evaluate(self, resource: Any, variables: Mapping[str, Any] | None = None, *,
                 keep_nodes: bool = False) -> list:
        """The result collection. An expression that fails while running (a type error
        in the author's expression, say) gives an empty collection: no value, which the
        callers treat as "not answered", never a crash in front of a patient.

        ``keep_nodes``: response elements (items, answers) stay fhirpathpy nodes, which
        know their FHIR type, so a variable holding items can be navigated further
        (``%lines.item.answer.value`` needs the type to read value[x])."""
        constants.reset()
        root = arraify(resource)
        ctx = {
            "dataRoot": root,
            "vars": {"context": resource, "ucum": "http://unitsofmeasure.org", **(variables or {})},
            "model": _MODEL,
            "userInvocationTable": USER_FUNCTIONS,
        }
        try:
            result = do_eval(ctx, root, self.tree["children"][0])
        except (FhirPathError, ArithmeticError, InvalidOperation, TypeError, ValueError,
                KeyError, IndexError, AttributeError):
            return []
        except Exception as error:  # fhirpathpy raises bare Exception for type errors
            if type(error) is Exception:
                return []
            raise
        return [node if keep_nodes and isinstance(node, ResourceNode)
                and isinstance(node.data, dict) else _plain(node) for node in arraify(result)]

    def first(self, resource: Any, variables: Mapping[str, Any] | None = None) -> Any:
        result = self.evaluate(resource, variables)
        return result[0] if len(result) == 1 else None

    def holds(self, resource: Any, variables: Mapping[str, Any] | None = None) -> bool | None:
        """True or False for a single boolean result; None when empty (unknown)."""
        result = self.evaluate(resource, variables)
        if not result:
            return None
        return result[0] is True if len(result) == 1 else bool(result)


def compile_fhirpath(text: Any) -> FhirPath:
    if not isinstance(text, str) or not text.strip():
        raise FhirPathError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise FhirPathError(f"the expression is longer than {MAX_LENGTH} characters")
    return FhirPath(text, _parse(text))


class _Refuse(ErrorListener):
    def syntaxError(self, recognizer, offending_symbol, line, column, msg, e):
        raise FhirPathError(f"it is not valid FHIRPath (at character {column + 1})")


def _parse(text: str) -> dict:
    """fhirpathpy's own parse(), but refusing syntax errors and trailing text, which
    fhirpathpy's parser skips over in silence (an expression half-read is unsafe)."""
    lexer = FHIRPathLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Refuse())
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.buildParseTrees = True
    parser.removeErrorListeners()
    parser.addErrorListener(_Refuse())
    listener = ASTPathListener()
    try:
        expression = parser.expression()
        if parser.getCurrentToken().type != Token.EOF:
            raise FhirPathError("it is not valid FHIRPath (text after the expression)")
        ParseTreeWalker().walk(listener, expression)
    except FhirPathError:
        raise
    except Exception:  # the ANTLR runtime raises its own error types
        raise FhirPathError("it is not valid FHIRPath") from None
    tree = listener.parentStack[0] if listener.parentStack else None
    if not tree or not tree.get("children"):
        raise FhirPathError("it is not valid FHIRPath")
    return tree


def to_fhir_value(value: Any) -> Any:
    """A Python value as the variable FHIRPath would see (dates as ISO strings)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
