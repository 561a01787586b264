"""The relational parts of a form's draft beyond items and options: conditions that
show an item, score bands and flag rules. Published into the Questionnaire by
forms_app.design.export; the engine interprets them (see forms_app.engine)."""

from django.core.exceptions import ValidationError
from django.db import models

from forms_app.models.core import Form, Item


class Operator(models.TextChoices):
    EXISTS = "exists", "is answered (answer 'true') or not (answer 'false')"
    EQUALS = "=", "equals"
    NOT_EQUALS = "!=", "does not equal"
    GREATER = ">", "is more than"
    LESS = "<", "is less than"
    GREATER_OR_EQUAL = ">=", "is at least"
    LESS_OR_EQUAL = "<=", "is at most"


ANSWER_HELP = ("yes/no: true or false; choice: the option's code (or, with more/less "
               "than, its score); numbers, dates (2024-01-31) and times (09:00:00) as "
               "written.")


class Condition(models.Model):
    """An answer compared with a value: what shows an item, or what raises a flag."""

    # RESTRICT: a question that a condition depends on cannot be deleted on its own
    # (that would silently show the item to everyone), but the whole form can.
    question = models.ForeignKey(Item, on_delete=models.RESTRICT, related_name="+")
    operator = models.CharField(max_length=6, choices=Operator.choices, default=Operator.EQUALS)
    answer = models.CharField(max_length=255, blank=True, help_text=ANSWER_HELP)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.question.link_id} {self.operator} {self.answer}"

    def owner(self):
        """The item whose visibility this condition governs, if any."""
        return None

    def clean(self):
        from forms_app.design.validation import clean_condition

        clean_condition(self, owner=self.owner())


class ItemCondition(Condition):
    """Show ``item`` (a question, group or page) only when an earlier answer meets this."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="conditions")
    question = models.ForeignKey(Item, on_delete=models.RESTRICT, related_name="+",
                                 help_text="An earlier question in this form.")

    class Meta(Condition.Meta):
        pass

    def owner(self):
        return self.item if self.item_id else None


class ScoreBand(models.Model):
    """A labelled range of a score or computed value, e.g. PHQ-9 10-14 "Moderate"."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="bands")
    min_score = models.DecimalField("from", max_digits=12, decimal_places=4, null=True,
                                    blank=True, help_text="Inclusive; empty for no lower end.")
    max_score = models.DecimalField("to", max_digits=12, decimal_places=4, null=True,
                                    blank=True, help_text="Inclusive; empty for no upper end.")
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.label

    def clean(self):
        if self.min_score is not None and self.max_score is not None \
                and self.min_score > self.max_score:
            raise ValidationError({"max_score": "The band ends before it starts."})


class FlagRule(models.Model):
    """Answers that need a clinician's attention, e.g. PHQ-9 question 9 above 0.

    Shown to staff with the submission; never to the patient.
    """

    class Severity(models.TextChoices):
        URGENT = "urgent", "Urgent"
        ROUTINE = "routine", "Routine"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="flag_rules")
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.CASCADE, related_name="flag_rules",
        help_text="Optional: the rule applies only while this item is shown.")
    code = models.CharField(max_length=64, help_text="A short id, e.g. 'phq9-self-harm'.")
    severity = models.CharField(max_length=10, choices=Severity.choices,
                                default=Severity.URGENT)
    message = models.TextField(help_text="What staff see and should do.")
    enable_behavior = models.CharField("raise when", max_length=3,
                                       choices=Item.Behavior.choices, default=Item.Behavior.ALL)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "code"], name="flag_rule_code_unique"),
        ]

    def __str__(self):
        return self.code


class FlagCondition(Condition):
    """One condition of a flag rule; any question or calculated score of the form."""

    rule = models.ForeignKey(FlagRule, on_delete=models.CASCADE, related_name="conditions")
    question = models.ForeignKey(Item, on_delete=models.RESTRICT, related_name="+",
                                 help_text="Any question or calculated score in this form.")

    class Meta(Condition.Meta):
        pass
