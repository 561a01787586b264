"""FHIR R4B validation of a QuestionnaireResponse, full once per shape, cheap after.

Validating a response with `fhir.resources` builds the whole pydantic model tree
(about 1.7 ms for a PHQ-9, more than the rest of building it), and every response to
one form version has one of a handful of shapes. So the first response of a shape
(its keys, list lengths and value types, everything but the values) is validated in
full; a later one of a known-valid shape has each of its values checked against the
very type annotation the model gives that element (the library's own primitive
validators: string, code, uri, dateTime, integer range...). What the model checks
beyond single values (required elements, choice types, unknown keys, cardinality)
depends only on the shape, which was valid. A key the walk cannot place falls back
to the full validation, so nothing is ever less checked than before.
"""

import functools
import types
import typing

from fhir_core.types import FhirBase
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from forms_app.filing.destinations import PermanentFilingError

# Distinct shapes are few per form version; the bound only stops a pathological source
# of shapes (free-text repeats) from growing the process without limit.
MAX_SHAPES = 2048
_checks_by_shape: dict = {}


class _Unplaced(Exception):
    """A key the walk cannot map to a model field: validate in full instead."""


def validated_response(resource: dict) -> dict:
    """The QuestionnaireResponse, checked against FHIR R4B before anything is filed."""
    values: list = []
    shape = _shape(resource, values)
    checks = _checks_by_shape.get(shape)
    if checks is not None:
        for (where, adapter), value in zip(checks, values, strict=True):
            try:
                adapter.validate_python(value)
            except PydanticValidationError as exc:
                raise PermanentFilingError(
                    f"The QuestionnaireResponse is not valid FHIR ({where})") from exc
        return resource
    try:
        _response_class().model_validate(resource)
    except PydanticValidationError as exc:
        raise _refusal(exc) from exc
    try:
        checks = _value_checks(_response_class(), resource, ())
    except _Unplaced:
        return resource  # valid, but a shape the walk cannot place: always in full
    if len(_checks_by_shape) >= MAX_SHAPES:
        _checks_by_shape.clear()
    _checks_by_shape[shape] = checks
    return resource


def _refusal(exc: PydanticValidationError) -> PermanentFilingError:
    # Field locations only: the validator's messages can quote answers.
    where = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})[:5]
    return PermanentFilingError(
        f"The QuestionnaireResponse is not valid FHIR ({', '.join(where)})")


_RESOURCE_TYPE = TypeAdapter(typing.Literal["QuestionnaireResponse"])


def warm_up() -> None:
    """Load the FHIR models filing validates against (a worker process calls this as it
    starts, forms_app.tasks), so the first batch does not pay for it."""
    from forms_app.filing.observations import observation_class

    _response_class()
    observation_class()


@functools.cache
def _response_class():
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    return QuestionnaireResponse


# The shape is a flat token sequence: these markers are no key (a str) and no value
# type, so two different shapes never give the same sequence. Flat, because a nested
# tuple built by generators (and hashed again, level by level, for the cache lookup)
# cost a fifth of a filing worker's CPU.
_DICT, _LIST, _END = object(), object(), object()


def _shape(value, values: list) -> tuple:
    """Everything about a JSON value except its primitive values, which are appended
    to `values` in document order."""
    tokens: list = []
    _tokens(value, values, tokens)
    return tuple(tokens)


def _tokens(value, values: list, tokens: list) -> None:
    if isinstance(value, dict):
        tokens.append(_DICT)
        for key, item in value.items():
            tokens.append(key)
            _tokens(item, values, tokens)
        tokens.append(_END)
    elif isinstance(value, list):
        tokens.append(_LIST)
        for item in value:
            _tokens(item, values, tokens)
        tokens.append(_END)
    else:
        values.append(value)
        tokens.append(type(value))


def _value_checks(model, data: dict, path: tuple) -> list:
    """For a resource of this shape: (location, type adapter) of each primitive value,
    in the order _shape lists them."""
    fields = _fields(model)
    checks = []
    for key, value in data.items():
        where = (*path, key)
        if key == "resourceType" and path == ():
            checks.append((key, _RESOURCE_TYPE))
            continue
        placed = fields.get(key)
        if placed is None:
            raise _Unplaced(key)
        kind, target = placed
        if kind == "model" and isinstance(value, dict):
            checks += _value_checks(target, value, where)
        elif kind == "models" and isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    raise _Unplaced(key)
                checks += _value_checks(target, item, (*where, index))
        elif kind == "value" and not isinstance(value, dict | list):
            checks.append((".".join(map(str, where)), target))
        else:
            raise _Unplaced(key)
    return checks


@functools.cache
def _fields(model) -> dict:
    """JSON key -> ("model" | "models", class) or ("value", TypeAdapter) for a model."""
    placed = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        element = _strip_optional(annotation)
        many = typing.get_origin(element) in (list, typing.List)  # noqa: UP006
        inner = typing.get_args(element)[0] if many else element
        if isinstance(inner, type) and issubclass(inner, FhirBase):
            entry = ("models" if many else "model", inner.get_model_klass())
        else:
            entry = ("value", TypeAdapter(annotation))
        placed[field.alias or name] = entry
    return placed


def _strip_optional(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
