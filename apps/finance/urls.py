"""The Finance Service's API."""

urlpatterns: list = []
