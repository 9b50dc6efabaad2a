from django.urls import path

from . import views

app_name = "newsletter"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("bitte-bestaetigen/", views.check_your_mail, name="check_your_mail"),
    path("bestaetigen/<str:token>/", views.confirm, name="confirm"),
    path("bestaetigt/", views.confirmed, name="confirmed"),
    path("abmelden/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
