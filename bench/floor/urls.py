"""The floor's one read, and the health check the bench waits on."""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

# The primary key's index, newest first: as cheap as a list query gets.
NEWEST_APPLICATIONS = (
    "SELECT id, tracking_number, title, status, updated_at FROM grants_application "
    "ORDER BY id DESC LIMIT 20"
)
COLUMNS = ("id", "tracking_number", "title", "status", "updated_at")


class FloorApi(APIView):
    def get(self, request):
        # Prepared on the server, as the services' hot reads are (hms.db.PreparedRead).
        with connection.statements_prepared(), connection.cursor() as cursor:
            cursor.execute(NEWEST_APPLICATIONS)
            rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        return Response(rows)


def health(request):
    return JsonResponse({"status": "ok", "service": "floor"})


urlpatterns = [path("floor", FloorApi.as_view()), path("health", health)]
