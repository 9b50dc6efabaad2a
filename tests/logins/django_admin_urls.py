"""The portal's URLs with Django's admin in front, as development routes them (DJANGO_ADMIN_ENABLED)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("django-admin/", admin.site.urls), path("", include("portal.urls"))]
