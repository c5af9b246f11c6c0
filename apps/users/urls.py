"""The Users Service's API."""

urlpatterns: list = []
