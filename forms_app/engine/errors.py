"""The one exception the engine raises for a definition it cannot interpret."""


class DefinitionError(ValueError):
    """A Questionnaire that cannot be turned into patient pages.

    ``problems`` lists every problem found (not just the first), each naming the
    item's linkId, so that staff can fix a draft in one pass.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) or "invalid definition")
