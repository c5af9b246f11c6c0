"""The Grants Service's API."""

urlpatterns: list = []
