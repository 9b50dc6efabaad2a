"""German, readable feed addresses: /feeds/alle.rss, /feeds/bereich/kultur.atom, /feeds/thema/museum.rss."""

from django.urls import path, register_converter

from . import views


class FeedFormatConverter:
    regex = "rss|atom"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FeedFormatConverter, "feed_format")

app_name = "feeds"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("alle.<feed_format:feed_format>", views.portal, name="portal"),
    path("bereich/<str:slug>.<feed_format:feed_format>", views.section, name="section"),
    path("thema/<str:slug>.<feed_format:feed_format>", views.tag, name="tag"),
]
