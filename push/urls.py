from django.urls import path

from . import views

app_name = "push"

urlpatterns = [
    path("sw.js", views.service_worker, name="service_worker"),
    path("benachrichtigungen/", views.notifications, name="notifications"),
    path("benachrichtigungen/abonnieren/", views.subscribe_view, name="subscribe"),
    path("benachrichtigungen/abbestellen/", views.unsubscribe_view, name="unsubscribe"),
]
