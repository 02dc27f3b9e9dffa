"""The dashboard's addresses (docs/webfrontend.md). ``<str:tag>`` never matches a ``/``, and
every tag is looked up among the sidecars' tags, so no URL can name a path."""
from __future__ import annotations

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("plots/<str:tag>", views.detail, name="detail"),
    path("images/<str:tag>", views.image_file, name="image"),
    path("api/images", views.api_images, name="api-images"),
    path("api/images/<str:tag>", views.api_image, name="api-image"),
    path("api/dashboard", views.api_dashboard, name="api-dashboard"),
]
