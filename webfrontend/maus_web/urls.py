"""The project's URLs: the dashboard app at the root (static files come through WhiteNoise)."""
from django.urls import include, path

urlpatterns = [
    path("", include("dashboard.urls")),
]

handler404 = "dashboard.views.not_found"
