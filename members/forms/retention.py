"""The Retention page's choices, all in the query string so a view of the figures can be bookmarked and shared."""

import datetime

from dateutil.relativedelta import relativedelta
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import IncomeBand, MembershipType
from members.selectors.retention import RetentionFilter, default_period

MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]
MAX_PERIOD_YEARS = 10
MSG_END_BEFORE_START = _("The period must end after it starts.")
MSG_PERIOD_TOO_LONG = _("Choose a period of at most %(years)d years.")


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self):
        super().__init__(format="%Y-%m")


class RetentionFilterForm(forms.Form):
    start = forms.DateField(label=_("From (month)"), required=False, input_formats=MONTH_FORMATS, widget=MonthInput())
    end = forms.DateField(label=_("To (month)"), required=False, input_formats=MONTH_FORMATS, widget=MonthInput())
    type = forms.ChoiceField(label=_("Membership type"), required=False)
    band = forms.ChoiceField(label=_("Income band"), required=False, choices=[("", _("All")), *IncomeBand.choices])
    country = forms.ChoiceField(label=_("Country"), required=False)
    join_year = forms.IntegerField(label=_("Join year"), required=False, min_value=1900, max_value=2100)
    window = forms.IntegerField(label=_("At risk: ending within (days)"), required=False, min_value=1, max_value=366)

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["type"].choices = [("", _("All")), *MembershipType.objects.values_list("slug", "name")]
        self.fields["country"].choices = [("", _("All")), *countries]
        self.fields["window"].widget.attrs["placeholder"] = settings.RENEWAL_WINDOW_DAYS

    def clean(self):
        data = super().clean()
        default_start, default_end = default_period(self.today)
        # Whole months: the figures are monthly, and a month cut in two would compare unlike with unlike.
        start = (data.get("start") or default_start).replace(day=1)
        end = (data.get("end") or default_end).replace(day=1) + relativedelta(months=1, days=-1)
        if end < start:
            raise forms.ValidationError(MSG_END_BEFORE_START, code="end_before_start")
        if end - relativedelta(years=MAX_PERIOD_YEARS) >= start:
            raise forms.ValidationError(MSG_PERIOD_TOO_LONG, code="period_too_long", params={"years": MAX_PERIOD_YEARS})
        data["start"], data["end"] = start, end
        return data

    def retention_filter(self) -> RetentionFilter:
        data = self.cleaned_data
        return RetentionFilter(
            start=data["start"],
            end=data["end"],
            membership_type=data["type"],
            band=data["band"],
            country=data["country"],
            join_year=data["join_year"],
            window_days=data["window"] or settings.RENEWAL_WINDOW_DAYS,
        )
