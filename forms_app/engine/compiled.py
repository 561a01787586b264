"""CompiledForm: a definition compiled once, then read many times.

A CompiledForm is immutable after construction and safe to share between threads
and requests; callers cache one per form version.
"""

import copy
import dataclasses
from collections import ChainMap
from collections.abc import Iterable, Mapping
from typing import Any

from . import answer_expressions, groups
from .answers import fits, to_initial
from .conditions import condition_holds
from .errors import DefinitionError
from .evaluation import ResponseContext, as_answer, as_score
from .forms import EngineForm, build_form_class
from .items import EnableWhen, Item, Page
from .parsing import walk_definition
from .repeats import MAX_INSTANCES
from .rules import apply_rules, variables_of
from .scoring import Evaluation, compute_bands, raised_flags
from .summary import SummaryPage, response_items, summary_pages
from .translation import languages, primary_language, translate_definition


def compile_definition(definition: dict) -> "CompiledForm":
    return CompiledForm(definition)


def _by_scope(items) -> dict[str | None, list[Item]]:
    found: dict[str | None, list[Item]] = {}
    for item in items:
        found.setdefault(item.scope, []).append(item)
    return found


def _walk_plan(items: dict[str, Item], top: Iterable[Item]) -> tuple:
    """What CompiledForm._walk asks of each top-scope item, read once at compile time
    rather than through properties per item per walk: a patient page walks the whole
    form about four times, and on a 50-question form that was most of what its size
    cost. A repeating group carries the link ids of everything inside it."""
    def inside(group: Item) -> frozenset[str] | None:
        if not group.is_repeating_group:
            return None
        return frozenset(i.link_id for i in items.values() if group.link_id in i.ancestors)

    return tuple((item, item.link_id, item.parent, item.enable_when, item.enable_expression,
                  item.answer_expression is not None, inside(item)) for item in top)


class CompiledForm:
    def __init__(self, definition: dict):
        walk = walk_definition(definition)
        flag_rules = apply_rules(walk, definition) if walk.items else []
        groups.mark_members(walk.items)
        self.variables = variables_of(
            definition if isinstance(definition, dict) else {},
            lambda message: walk.problems.append(f"The form: {message}"),
        )
        if walk.problems:
            raise DefinitionError(walk.problems)
        self.definition = definition
        self.title: str = str(definition.get("title") or definition.get("name") or "")
        self.url: str | None = definition.get("url")
        self.version: str | None = definition.get("version")
        self.description: str = str(definition.get("description") or "")
        # The language the text is written in (FHIR Resource.language; English unless
        # said), so a page in another language can mark the form's text with lang.
        self.language: str = str(definition.get("language") or "en")
        self._calculated = [item for item in walk.items.values() if item.calculation]
        # Calculated items inside a repeating group: one value per instance.
        self._per_instance = any(item.scope is not None for item in self._calculated)
        # Choice questions whose options an answerExpression works out (see
        # answer_expressions), and their options per reading of the earlier answers:
        # the walk asks for them on every request, the answers change far less often.
        self._answer_expressed = answer_expressions.expressed(walk.items.values())
        self._options_cache = answer_expressions.OptionsCache()
        self.items: dict[str, Item] = walk.items
        # Per repeating group (None: the form itself), the items its instances answer.
        self.scope_members = _by_scope(walk.items.values())
        self._walk_plan = _walk_plan(walk.items, self.scope_members.get(None, ()))
        self.top_level: list[str] = walk.top_level
        self.flag_rules = flag_rules
        self.pages: list[Page] = self._build_pages(walk.top_level)
        self.page_keys: list[str] = [page.key for page in self.pages]
        self._pages = {page.key: page for page in self.pages}
        self._form_classes: dict[tuple, type[EngineForm]] = {}
        # Per page: the questions whose visibility hangs on answers on the same page.
        self._dynamic = {page.key: self._dynamic_questions(page) for page in self.pages}
        self._required_groups = {page.key: groups.required_groups(self.items, page.key)
                                 for page in self.pages}
        self.languages: frozenset[str] = frozenset(languages(definition))
        self._translated: dict[str, CompiledForm] = {}

    def translated(self, language: str | None) -> "CompiledForm":
        """This form with its text in ``language`` (FHIR translation extensions; see
        ``translation``), or this form itself when it carries no such translation.

        Same linkIds, codes, pages and rules: answers given in one language read the same
        in every other. Compiled once per language and kept.
        """
        if not language or not self.languages:
            return self
        primary = language.replace("_", "-").split("-", 1)[0].lower()
        if not any(lang.split("-", 1)[0].lower() == primary for lang in self.languages):
            return self
        compiled = self._translated.get(language)
        if compiled is None:
            compiled = CompiledForm(translate_definition(self.definition, language))
            compiled.language = language
            self._translated[language] = compiled
        return compiled

    def _build_pages(self, top_level: list[str]) -> list[Page]:
        """A page per top-level item with something to answer. A calculated item of its
        own at the top level (a total, a BMI) that the author shows is read back with
        the page before it (the first page when it comes first)."""
        pages: list[Page] = []
        orphans: list[Item] = []
        for key in top_level:
            page = self._build_page(key)
            item = self.items[key]
            if page is not None:
                if orphans and not pages:
                    page = dataclasses.replace(page, results=(*orphans, *page.results))
                    orphans = []
                pages.append(page)
            elif item.calculation is not None and not item.hidden:
                if pages:
                    pages[-1] = dataclasses.replace(
                        pages[-1], results=(*pages[-1].results, item))
                else:
                    orphans.append(item)
        return pages

    @property
    def page_count_varies(self) -> bool:
        """Whether answers can add or drop a page: a page with a condition of its own, or
        one whose every item is conditional (itself or through a sub-group)."""
        def conditional(item):
            return item.enable_when is not None or any(
                self.items[a].enable_when is not None for a in item.ancestors)
        return any(
            page.enable_when is not None
            or all(conditional(item) for item in page.items if item.type != "group")
            for page in self.pages)

    def lang_within(self, page_language: str | None) -> str | None:
        """The lang attribute the form's text needs on a page in ``page_language``: its
        own language where that differs (an untranslated form on a Welsh page), else None."""
        same = primary_language(self.language) == primary_language(page_language or "en")
        return None if same else self.language

    def _build_page(self, key: str) -> Page | None:
        top = self.items[key]
        # A repeating group that is a page is on it too: the list of its instances.
        members = [top] if top.type != "group" or top.is_repeating_group else []
        members += [item for item in self.items.values() if key in item.ancestors]
        shown = tuple(item for item in members if not item.hidden and not item.read_only)
        if not any(item.is_question or item.type == "display" for item in shown):
            return None  # nothing for a patient to answer here, e.g. a calculated total
        results = tuple(item for item in members
                        if item.calculation is not None and not item.hidden)
        return Page(key, top.text, shown, top.enable_when, results)

    def _conditions_of(self, item: Item) -> list[EnableWhen]:
        chain = [self.items[a].enable_when for a in item.ancestors] + [item.enable_when]
        return [ew for ew in chain if ew is not None]

    def _dynamic_questions(self, page: Page) -> list[Item]:
        on_page = {item.link_id for item in page.items}
        # An enableWhenExpression may read anything, this page included.
        return [
            item
            for item in page.questions
            if any(ew.questions & on_page for ew in self._conditions_of(item))
            or any(self.items[a].enable_expression is not None
                   for a in (*item.ancestors, item.link_id))
        ]

    # Visibility.

    def _walk(
        self, answers: Mapping[str, Any], assume: frozenset[str] = frozenset()
    ) -> tuple[set[str], dict[str, Any]]:
        """(enabled linkIds, answers kept) in one pass in form order.

        Conditions refer only to earlier questions, so a question hidden early is
        already absent from ``kept`` when later conditions look at it (FHIR: a
        disabled question has no answer). Conditions on questions in ``assume``
        count as met: used when the answers on other pages are not known.
        """
        enabled: set[str] = set()
        kept: dict[str, Any] = {}
        # One context for the whole walk, told of each answer kept: the response it
        # builds for %resource depends only on the kept answers (an enabled question
        # without one, or a display item, adds nothing to it), so it is rebuilt only
        # when one was kept since the last enableWhenExpression, not once per item. It
        # holds `enabled` itself, which grows as the walk goes. (Building it costs two
        # empty dicts; the response is built only when an expression asks for it.)
        context = ResponseContext(self, enabled, kept)
        for (item, link_id, parent, enable_when, enable_expression, expressed,
             instances_of) in self._walk_plan:
            if parent is not None and parent not in enabled:
                continue
            if enable_when is not None and not self._holds(enable_when, kept, assume):
                continue
            if (enable_expression is not None and not assume
                    and context.evaluate(item, enable_expression) != [True]):
                continue
            if expressed:
                item = self.with_answer_options(item, kept)
                if item is None:
                    continue  # no options to choose from: the question does not apply
            enabled.add(link_id)
            if instances_of is not None:
                # A repeating group, enabled as a structure; each instance decides its
                # own (walk_instance).
                enabled.update(instances_of)
            value = answers.get(link_id)
            if value is None:
                continue  # unanswered: nothing to keep
            value = self._kept(item, value, kept, assume, ((), context))
            if value is not None:
                kept[link_id] = value
                context.set(link_id, value)
        return enabled, kept

    def walk_instance(
        self, group_id: str, instance: Mapping[str, Any], outer: Mapping[str, Any],
        assume: frozenset[str] = frozenset(), chain: tuple = (),
        context: ResponseContext | None = None,
    ) -> tuple[set[str], dict[str, Any]]:
        """(enabled linkIds, answers kept) of one instance of a repeating group.

        A condition names a question of this instance first (SDC: the answers of the
        same repetition), else of the enclosing instances and the form (``outer``).
        An enableWhenExpression is evaluated on this instance (``%context``; see
        ``evaluation``); ``chain`` holds the enclosing instances, ``context`` the
        reading of the form's answers (made from ``outer`` when not given).
        """
        enabled = {group_id}
        kept: dict[str, Any] = {}
        lookup = ChainMap(kept, outer)
        here = (*chain, (self.items[group_id], kept))
        for item in self.scope_members.get(group_id, ()):
            if item.parent not in enabled:
                continue
            if item.enable_when is not None and not self._holds(item.enable_when, lookup,
                                                                assume):
                continue
            if item.enable_expression is not None and not assume:
                context = context or self._context_for(outer)
                if context.evaluate(item, item.enable_expression, chain=here) != [True]:
                    continue
            enabled.add(item.link_id)
            value = self._kept(item, instance.get(item.link_id), lookup, assume,
                               (here, context))
            if value is not None:
                kept[item.link_id] = value
        return enabled, kept

    def _context_for(self, outer: Mapping[str, Any]) -> ResponseContext:
        """A reading of the form-level answers under ``outer`` (instances' answers are
        chained in front of them), for expressions inside an instance."""
        while isinstance(outer, ChainMap):
            outer = outer.maps[-1]
        enabled, kept = self._walk(dict(outer))
        return ResponseContext(self, enabled, kept)

    def instance_errors(self, group_id: str, kept: Mapping[str, Any],
                        outer: Mapping[str, Any], chain: tuple = ()) -> dict[str, str]:
        """{linkId: the author's message} for each answered question of one instance
        whose targetConstraint is false there (``kept``: as walk_instance kept it)."""
        checked = [item for item in self.scope_members.get(group_id, ())
                   if item.constraints and item.link_id in kept]
        if not checked:
            return {}
        context = self._context_for(outer)
        here = (*chain, (self.items[group_id], kept))
        errors: dict[str, str] = {}
        for item in checked:
            for constraint in item.constraints:
                if constraint.severity == "error" and context.evaluate(
                        item, constraint.expression, chain=here) == [False]:
                    errors[item.link_id] = constraint.human
                    break
        return errors

    def _kept(self, item: Item, value: Any, lookup: Mapping[str, Any], assume,
              within=((), None)) -> Any:
        """``value`` as kept for ``item``, or None (unanswered, or not well formed).
        ``within``: (the enclosing instances, the reading of the form) inside one."""
        if value is None:
            return None
        if item.is_repeat_root:
            return self._kept_instances(item, value, lookup, assume, within)
        if item.is_question and fits(item, value):
            return value
        return None

    def _kept_instances(self, item: Item, value: Any, lookup, assume, within) -> list | None:
        if not isinstance(value, list):
            return None
        limit = min(item.max_occurs or MAX_INSTANCES, MAX_INSTANCES)
        chain, context = within
        if item.is_repeating_group:
            values = [self.walk_instance(item.link_id, instance, lookup, assume, chain,
                                         context)[1]
                      for instance in value[:limit] if isinstance(instance, dict)]
        else:
            values = [v for v in value[:limit] if v is not None and fits(item, v)]
        # An instance left blank is no instance at all.
        return [v for v in values if v] or None

    def _holds(self, enable_when: EnableWhen, kept, assume) -> bool:
        results = (
            c.question in assume or condition_holds(c, self.items[c.question], kept.get(c.question))
            for c in enable_when.conditions
        )
        return all(results) if enable_when.behavior == "all" else any(results)

    def with_answer_options(self, item: Item, kept: Mapping[str, Any]) -> Item | None:
        """``item`` with the options its answerExpression gives for the answers kept on
        earlier pages, or None when it gives none."""
        earlier = answer_expressions.earlier_answers(self.items, self.page_keys, item, kept)

        def work_out():
            context = ResponseContext(self, set(self.items), earlier)
            return answer_expressions.with_options(
                item, context.evaluate(item, item.answer_expression))

        return self._options_cache.get(item.link_id, earlier, work_out)

    def answer_option_items(self, kept: Mapping[str, Any], *,
                            answered: bool = False) -> dict[str, Item]:
        """{linkId: the item with its options} of every answerExpression question that
        has some for ``kept`` (``answered``: only those answered in ``kept``, all that
        reading an answer needs; each reads only earlier pages, so this never loops)."""
        found = {}
        for item in self._answer_expressed:
            if answered and item.link_id not in kept:
                continue
            resolved = self.with_answer_options(item, kept)
            if resolved is not None:
                found[item.link_id] = resolved
        return found

    def items_answered(self, kept: Mapping[str, Any]) -> Mapping[str, Item]:
        """The items, the answerExpression questions answered in ``kept`` with their
        options (what reading those answers as FHIR needs)."""
        if not self._answer_expressed:
            return self.items
        return {**self.items, **self.answer_option_items(kept, answered=True)}

    def enabled_link_ids(self, answers: Mapping[str, Any]) -> set[str]:
        return self._walk(answers)[0]

    def is_enabled(self, link_id: str, answers: Mapping[str, Any]) -> bool:
        return link_id in self._walk(answers)[0]

    def enabled_page_keys(self, answers: Mapping[str, Any]) -> list[str]:
        enabled, _ = self._walk(answers)
        return [
            page.key
            for page in self.pages
            if page.key in enabled
            and any(item.link_id in enabled for item in page.items if item.type != "group")
        ]

    def visible_items(self, page_key: str, answers: Mapping[str, Any]) -> list[Item]:
        """The page's items (questions, display text, sub-groups) enabled by ``answers``."""
        enabled, _ = self._walk(answers)
        return [item for item in self.page(page_key).items if item.link_id in enabled]

    def prune(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Only answers to enabled questions, well-formed for their type; no None values."""
        return self._walk(answers)[1]

    # Pages and forms.

    def page(self, page_key: str) -> Page:
        try:
            return self._pages[page_key]
        except KeyError:
            raise KeyError(f"no page {page_key!r}") from None

    def form_class(
        self, page_key: str, answers: Mapping[str, Any] | None = None
    ) -> type[EngineForm]:
        """The page's form class.

        With ``answers`` (all answers so far), questions hidden by earlier pages are
        left out and those hidden by this page's own answers are not required. Without,
        every question on the page is present and conditions on other pages' answers
        are treated as met.
        """
        page = self.page(page_key)
        dynamic = self._dynamic[page_key]
        dynamic_ids = {item.link_id for item in dynamic}
        enabled, context, assume, resolved = self._other_pages(page, answers)
        static = answer_expressions.offered([
            item
            for item in page.questions
            if item.link_id not in dynamic_ids and item.link_id in enabled
        ], resolved)
        shown_dynamic = answer_expressions.offered([
            item for item in dynamic if answers is None or self._could_show(item, context)
        ], resolved)
        key = (
            page_key,
            answers is None,
            tuple(i.link_id for i in static),
            tuple(i.link_id for i in shown_dynamic),
            self._root_ids(page, enabled),
            answer_expressions.signature([*static, *shown_dynamic]),
        )
        base = self._form_classes.get(key)
        if base is None:
            base = self._build_form_class(page, static, shown_dynamic, enabled, assume)
            self._form_classes[key] = base
        if not context or not base.uses_context():
            return base
        return type(
            base.__name__, (base,), {"engine_context": context, "__module__": base.__module__}
        )

    def _other_pages(
        self, page: Page, answers: Mapping[str, Any] | None
    ) -> tuple[set[str], dict[str, Any], frozenset[str], dict[str, Item]]:
        """What the other pages decide for ``page``'s form: (enabled link ids, their kept
        answers, the link ids assumed enabled, the answer options worked out from them).

        Without answers every question is enabled and other pages' conditions are
        assumed met, so a page can be shown (or checked) on its own.
        """
        outside = frozenset(self.items) - {item.link_id for item in page.items}
        if answers is None:
            return set(self.items), {}, outside, {}
        _, kept = self._walk(answers)
        context = {k: v for k, v in kept.items() if k in outside}
        # Static questions depend only on other pages, so their answers decide.
        enabled, _ = self._walk(context)
        return enabled, context, frozenset(), self.answer_option_items(context)

    def _build_form_class(self, page: Page, static: list, shown_dynamic: list,
                          enabled: set[str], assume: frozenset[str]) -> type[EngineForm]:
        def visibility(merged, _assume=assume):
            return self._walk(merged, _assume)[0]

        base = build_form_class(page.key, static, shown_dynamic, visibility,
                                self._repeats_of(page, enabled))
        self._add_page_checks(base, page.key, assume)
        return base

    def _add_page_checks(self, base: type[EngineForm], page_key: str, assume) -> None:
        """The checks of a page's whole answers: SDC targetConstraints, required groups."""
        if any(item.constraints for item in self.page(page_key).questions):
            base.engine_constraints = staticmethod(
                lambda merged, _key=page_key: self.constraint_errors(_key, merged))
        if self._required_groups[page_key]:
            base.engine_groups = staticmethod(
                lambda merged, _key=page_key, _assume=assume:
                    self.unanswered_groups(_key, merged, _assume))

    def unanswered_groups(self, page_key: str, answers: Mapping[str, Any],
                          assume: frozenset[str] = frozenset()) -> list:
        """(group, its shown questions) for the page's required groups left unanswered."""
        enabled, kept = self._walk(answers, assume)
        return groups.unanswered(self.items, self._required_groups[page_key], enabled, kept)

    def _root_ids(self, page: Page, enabled: set[str]) -> tuple[str, ...]:
        return tuple(i.link_id for i in page.repeat_roots if i.link_id in enabled)

    def _repeats_of(self, page: Page, enabled: set[str]) -> tuple:
        """What build_form_class needs for the page's enabled repeats (see repeats)."""
        roots = [item for item in page.repeat_roots if item.link_id in enabled]
        if not roots:
            return ()
        return (roots, lambda link_id: self.scope_members.get(link_id, ()), self.walk_instance,
                self.instance_errors)

    def _could_show(self, item: Item, context: Mapping[str, Any]) -> bool:
        """False when earlier pages' answers already hide ``item`` whatever this page says."""
        page_ids = {i.link_id for i in self.page(item.page_key).items}
        return item.link_id in self._walk(context, assume=frozenset(page_ids))[0]

    def initial_for_page(
        self,
        page_key: str,
        answers: Mapping[str, Any],
        launch: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The page's answers so far, and for questions not yet answered, the value of
        their initialExpression (``launch`` holds the launch context, e.g. "patient"
        as a FHIR Patient) where it gives one that fits the question."""
        enabled, kept = self._walk(answers)
        initial = {
            item.link_id: to_initial(item, kept[item.link_id])
            for item in self.page(page_key).questions
            if item.link_id in kept
        }
        # Repeats as kept: the form's instances and their values (engine.repeats).
        initial.update((item.link_id, kept[item.link_id])
                       for item in self.page(page_key).repeat_roots if item.link_id in kept)
        pending = [
            item for item in self.page(page_key).questions
            if item.initial_expression is not None and item.link_id not in kept
        ]
        if pending:
            context = ResponseContext(self, enabled, kept, launch)
            for item in pending:
                value = as_answer(item, context.evaluate(item, item.initial_expression))
                if value is not None and fits(item, value):
                    initial[item.link_id] = to_initial(item, value)
        return initial

    def constraint_errors(self, page_key: str, answers: Mapping[str, Any]) -> dict[str, str]:
        """{linkId: the author's message} for each enabled question on the page whose
        targetConstraint is false for ``answers`` (empty, i.e. unanswered, passes)."""
        checked = [item for item in self.page(page_key).questions if item.constraints]
        if not checked:
            return {}
        enabled, kept = self._walk(answers)
        context = ResponseContext(self, enabled, self._calculate(enabled, kept))
        errors: dict[str, str] = {}
        for item in checked:
            if item.link_id not in enabled or item.link_id not in kept:
                continue
            for constraint in item.constraints:
                if constraint.severity == "error" and context.evaluate(
                    item, constraint.expression, on_item=True
                ) == [False]:
                    errors[item.link_id] = constraint.human
                    break
        return errors

    # Readings of a complete set of answers.

    def _calculate(
        self, enabled: set[str], kept: Mapping[str, Any], launch=None
    ) -> dict[str, Any]:
        """The kept answers with every enabled calculated item's value added.

        Form order, twice, so that a total placed before the totals it adds up still
        sees them; a calculation with no value (an unanswered source) is left out.
        """
        if not self._calculated:
            return dict(kept)
        # Instances get values of their own: a copy, so the kept answers stay as they are.
        values = copy.deepcopy(dict(kept)) if self._per_instance else kept
        context = ResponseContext(self, enabled, values, launch)
        for _ in range(2):
            for item in self._calculated:
                if item.scope is not None:
                    self._calculate_instances(item, context)
                elif item.link_id in enabled:
                    context.set(item.link_id, None)  # never its own input
                    result = context.evaluate(item, item.calculation.expression)
                    context.set(item.link_id, as_answer(item, result))
        return context.values

    def _calculate_instances(self, item: Item, context: ResponseContext) -> None:
        """``item``'s value in each instance of its group that enables it (SDC: the
        calculatedExpression evaluated with that instance's item as %context)."""
        for chain in self._instances_of(item.scope, context.values):
            instance = chain[-1][1]
            outer = ChainMap(*(inst for _, inst in reversed(chain[:-1])), context.values)
            enabled, _ = self.walk_instance(item.scope, instance, outer, chain=chain[:-1],
                                            context=context)
            if instance.pop(item.link_id, None) is not None:
                context.changed()  # never its own input
            if item.link_id not in enabled:
                continue
            value = as_answer(item, context.evaluate(item, item.calculation.expression,
                                                     chain=chain))
            if value is not None:
                instance[item.link_id] = value
                context.changed()

    def _instances_of(self, group_id: str, values: Mapping[str, Any]):
        """Each instance of the repeating group ``group_id`` in ``values``, as the chain
        of (group, instance) from the outermost enclosing instance to it."""
        group = self.items[group_id]
        holders = [((), values)] if group.scope is None else [
            (chain, chain[-1][1]) for chain in self._instances_of(group.scope, values)]
        for chain, holder in holders:
            for instance in holder.get(group_id) or ():
                if isinstance(instance, dict):
                    yield (*chain, (group, instance))

    def values(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Kept answers and calculated values: what the filed response holds."""
        enabled, kept = self._walk(answers)
        return self._calculate(enabled, kept)

    def summary(self, answers: Mapping[str, Any]) -> list[SummaryPage]:
        enabled, kept = self._walk(answers)
        return summary_pages(self.pages, self.enabled_page_keys(kept), enabled,
                             self._calculate(enabled, kept),
                             lambda link_id: self.scope_members.get(link_id, ()),
                             resolved=self.answer_option_items(kept, answered=True))

    def evaluate(self, answers: Mapping[str, Any]) -> Evaluation:
        enabled, kept = self._walk(answers)
        values = self._calculate(enabled, kept)
        scores = {}
        for item in self._calculated:
            score = as_score(item, values.get(item.link_id))
            if score is not None:
                scores[item.link_id] = score
        return Evaluation(
            scores=scores,
            bands=compute_bands(self.items, values),
            flags=raised_flags(self.flag_rules, self.items, enabled, values),
        )

    def response_items(self, answers: Mapping[str, Any]) -> list[dict]:
        enabled, kept = self._walk(answers)
        items = self.items_answered(kept)
        return response_items(items, self.top_level, enabled, self._calculate(enabled, kept))
