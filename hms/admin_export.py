"""The filtered list as a CSV download, for every admin list that offers one.

`CsvExportMixin` adds "Download CSV" to a changelist: the same filters, search and ordering as the
page, every matching row (not only the page's 50), streamed from a server-side cursor so a million
rows never sit in memory. Each download is an access to people's records: it is audited with the
filters it used. Cells that a spreadsheet would run as a formula are quoted (CSV injection).
"""

import csv
from collections.abc import Callable, Iterator, Sequence

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from hms.audit.services import audit_record
from hms.db import service_atomic
from hms.errors import ApplicationError
from hms.staff import identity_of

# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


class _Echo:
    """csv.writer's file: each row written is returned to be streamed."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class CsvExportMixin:
    # (heading, value of a row); the values are plain (a Decimal as 80000.00) for spreadsheets.
    csv_columns: Sequence[tuple[str, Callable[[object], object]]] = ()
    change_list_template = "admin/hms_change_list.html"

    def get_urls(self):
        opts = self.model._meta
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        context = {
            "csv_export": bool(self.csv_columns),
            # "Applications", not Django's "Select application to change".
            "title": self.model._meta.verbose_name_plural.capitalize(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def export_csv_view(self, request):
        if not self.csv_columns or not self.has_view_or_change_permission(request):
            raise DjangoPermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return JsonResponse({"detail": "Some filters are invalid."}, status=400)
        try:
            self._audit_export(request)
        except ApplicationError:  # a local account with no platform identity
            raise DjangoPermissionDenied from None
        opts = self.model._meta
        filename = f"{opts.verbose_name_plural.replace(' ', '-')}-{timezone.localdate():%Y-%m-%d}"
        response = StreamingHttpResponse(
            self._rows(changelist.queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response

    def _rows(self, queryset) -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow([heading for heading, _value in self.csv_columns])
        for obj in queryset.iterator(chunk_size=CHUNK):
            yield writer.writerow([safe_cell(value(obj)) for _heading, value in self.csv_columns])

    def _audit_export(self, request) -> None:
        opts = self.model._meta
        actor = identity_of(request.user)
        with service_atomic(opts.app_label):  # a service's app label is its name
            audit_record(
                service=opts.app_label,
                actor=actor,
                action=f"{opts.model_name}.export",
                object_type=opts.model_name,
                object_id="list",
                changes={"filters": {key: request.GET.getlist(key) for key in request.GET}},
            )
