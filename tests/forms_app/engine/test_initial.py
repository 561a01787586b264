"""initial[x] and answerOption.initialSelected pre-fill a question's field."""

from .helpers import compiled, question


def test_initial_values_prefill_fields():
    form = compiled(
        question("story", "text", text="Story", initial=[{"valueString": "Nothing"}]),
        question("age", "integer", text="Age", initial=[{"valueInteger": 40}]),
        question("weight", "decimal", text="Weight", initial=[{"valueDecimal": 70.5}]),
        question("smoker", "boolean", text="Smoke?", initial=[{"valueBoolean": False}]),
        question("wake", "time", text="Wake", initial=[{"valueTime": "07:30:00"}]),
        question("kids", "choice", text="Kids", answerOption=[
            {"valueInteger": 0}, {"valueInteger": 2, "initialSelected": True}]),
        question("pets", "choice", text="Pets", repeats=True, answerOption=[
            {"valueString": "Cat", "initialSelected": True}, {"valueString": "Dog"},
            {"valueString": "Fish", "initialSelected": True}]),
    )
    initial = {key: form.form_class(key)().fields[key].initial for key in form.page_keys}
    assert initial == {"story": "Nothing", "age": 40, "weight": "70.5", "smoker": "no",
                       "wake": "07:30:00", "kids": "2", "pets": ["Cat", "Fish"]}


def test_an_initial_value_that_does_not_fit_is_ignored():
    form = compiled(
        question("age", "integer", text="Age", initial=[{"valueString": "forty"}]),
        question("day", "date", text="Day", initial=[{"valueDate": "31-01-2020"}]),
    )
    assert form.items["age"].initial is None and form.items["day"].initial is None
    assert form.form_class("age")().fields["age"].initial is None
