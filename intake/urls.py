"""The intake app's URLs (review pages will join these)."""

from django.urls import path

from intake.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
]
