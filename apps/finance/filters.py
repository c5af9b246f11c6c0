"""Query-string filters of the list endpoints (django-filter), applied by the selectors."""

import django_filters

from apps.finance.models import Award, Disbursement, ReimbursementRequest
from hms.filtering import IdFilter


class AwardFilter(django_filters.FilterSet):
    applicant = IdFilter(field_name="applicant_id", help_text="Staff: the recipient's user id.")
    application = IdFilter(field_name="application_id", help_text="The application's id.")
    status = django_filters.ChoiceFilter(choices=Award.Status.choices)
    program_code = django_filters.CharFilter(max_length=50, help_text="Program code.")

    class Meta:
        model = Award
        fields = ["applicant", "application", "status", "program_code"]


class DisbursementFilter(django_filters.FilterSet):
    award = IdFilter(field_name="award_id", help_text="The award's id.")
    applicant = IdFilter(field_name="award__applicant_id", help_text="The recipient's user id.")
    status = django_filters.ChoiceFilter(choices=Disbursement.Status.choices)
    category = django_filters.CharFilter(
        field_name="category__name",
        lookup_expr="iexact",
        max_length=100,
        help_text="Budget category name.",
    )

    class Meta:
        model = Disbursement
        fields = ["award", "applicant", "status", "category"]


class ReimbursementFilter(django_filters.FilterSet):
    award = IdFilter(field_name="award_id", help_text="The award's id.")
    applicant = IdFilter(field_name="award__applicant_id", help_text="The recipient's user id.")
    status = django_filters.ChoiceFilter(choices=ReimbursementRequest.Status.choices)

    class Meta:
        model = ReimbursementRequest
        fields = ["award", "applicant", "status"]
