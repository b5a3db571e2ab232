"""URL map of the web process: the admin and the intake app's pages.

The admin needs a session verified with the second factor (django-otp's admin site), and
its login page is the review pages' own two-step, audited sign-in (issue 12).
"""

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from intake.web.admin_gate import admin_login

admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("", include("intake.urls")),
    path("", include("intake.web.urls")),
]
