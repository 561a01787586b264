"""The date-of-birth form judges "in the past" by the trust's local date."""

import datetime

import time_machine

from forms_app.patient_forms import DateOfBirthForm


def _form(date):
    return DateOfBirthForm(data={"day": str(date.day), "month": str(date.month),
                                 "year": str(date.year)})


@time_machine.travel(datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC), tick=False)
def test_todays_date_in_london_is_not_in_the_future():
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (summer time).
    assert _form(datetime.date(2026, 7, 2)).is_valid()
    assert not _form(datetime.date(2026, 7, 3)).is_valid()
