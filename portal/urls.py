from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from feeds.api import api_router
from monitoring.views import health_json
from search import views as search_views

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("dokumente/", include(wagtaildocs_urls)),
    path("suche/", search_views.search, name="search"),
    path("feeds/", include("feeds.urls")),
    path("api/v2/", api_router.urls),
    path("newsletter/", include("newsletter.urls")),
    path("health/", health_json, name="health"),
    path("", include("push.urls")),
]

if settings.DJANGO_ADMIN_ENABLED:
    urlpatterns.insert(0, path("django-admin/", admin.site.urls))

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
