"""One-row lookups compiled to SQL once per process, for the hottest requests.

Turning a queryset into SQL (joins, ``only()``, converters) costs the ORM about a
millisecond of CPU per request, more than PostgreSQL takes to answer; a patient page
makes the same lookup, with a different value, every time (issue 12). ``OneRow`` asks
the ORM for the SQL once (so the ORM still decides the joins, the columns and how each
value is read back, encrypted fields included), then runs it with the new value and
builds the instances as ``QuerySet.first()`` would, through the same converters and
Django's own related-object populators.

Only for a lookup by one value of a unique field (``filter(<field>=value)``):
anything richer stays an ordinary queryset.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import get_related_populators

# Stands in for the value while the SQL is made; found again among the parameters.
_MARKER = uuid.UUID("5eed0000-0000-4000-8000-00000000f1e1")


class _Plan:
    def __init__(self, queryset, field, connection):
        compiler = queryset[:1].query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        marker = field.get_db_prep_value(_MARKER, connection)
        found = [i for i, param in enumerate(params) if param == marker]
        if len(found) != 1:
            raise ValueError("OneRow needs the value in exactly one parameter")
        self.params, self.index = list(params), found[0]
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.model = klass_info["model"]
        self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, connection.alias)
        self.converters = list(compiler.get_converters(
            [column[0] for column in select[:compiler.col_count]]).items())


class OneRow:
    """``OneRow(lambda value: Model.objects.select_related(...).filter(key=value),
    field)``: ``.one(value)`` is that queryset's ``.first()`` for a unique ``key`` (the
    row, or None), the SQL made once.

    ``field`` is the model field the value is compared with (it prepares the value as
    the ORM would); a value it cannot read (not a UUID, say) finds nothing."""

    def __init__(self, queryset_for, field):
        self._queryset_for, self._field = queryset_for, field
        self._plans = {}

    def _plan(self, connection) -> _Plan:
        # By vendor: the same SQL serves every connection (thread) to the same kind of
        # database; the plan holds no connection.
        plan = self._plans.get((connection.alias, connection.vendor))
        if plan is None:
            plan = _Plan(self._queryset_for(_MARKER), self._field, connection)
            self._plans[(connection.alias, connection.vendor)] = plan
        return plan

    def one(self, value, using=DEFAULT_DB_ALIAS):
        connection = connections[using]
        plan = self._plan(connection)
        try:
            prepared = self._field.get_db_prep_value(self._field.to_python(value), connection)
        except ValidationError:
            return None
        params = list(plan.params)
        params[plan.index] = prepared
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, (converters, expression) in plan.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        obj = plan.model.from_db(using, plan.init_list, row[plan.start:plan.end])
        for populator in plan.populators:
            populator.populate(row, obj)
        return obj
