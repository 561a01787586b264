"""The one exception the engine raises for a definition it cannot interpret, and the
problems it lists."""


class DefinitionError(ValueError):
    """A Questionnaire that cannot be turned into patient pages.

    ``problems`` lists every problem found (not just the first), each naming the
    item's linkId, so that staff can fix a draft in one pass.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) or "invalid definition")


class ItemProblem(str):
    """A problem with one item (or the form, when ``link_id`` is None), in words."""

    link_id: str | None
    message: str
    clinical: bool

    def __new__(cls, link_id: str | None, message: str, clinical: bool = False):
        text = message if link_id is None else f'Item "{link_id}": {message}'
        problem = super().__new__(cls, text)
        problem.link_id, problem.message, problem.clinical = link_id, message, clinical
        return problem

    def __reduce__(self):
        # A str subclass whose constructor takes parts: without this, pickling or
        # copying one would call it with the joined text alone and fail.
        return ItemProblem, (self.link_id, self.message, self.clinical)
