"""URLs of the review pages (filled in as the pages land)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
