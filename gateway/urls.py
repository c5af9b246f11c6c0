"""The gateway's routes."""

from django.urls import path

from gateway import health

urlpatterns = [
    path("health", health.liveness, name="health"),
    path("health/ready", health.readiness, name="health-ready"),
]
