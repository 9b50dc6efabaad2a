from django.urls import path

from .views import AuditLogView

app_name = "audit"
urlpatterns = [
    path("", AuditLogView.as_view(), name="log"),
    path("ergebnisse/", AuditLogView.as_view(results_only=True), name="log_results"),
]
