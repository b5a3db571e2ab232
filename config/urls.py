"""URL map of the web process: the admin and the intake app's pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("intake.urls")),
    path("", include("intake.web.urls")),
]
