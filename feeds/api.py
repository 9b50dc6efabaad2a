"""The read-only Wagtail API (v2) for the city app: live, public pages and the image library."""

from rest_framework.renderers import JSONRenderer
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.images.api.v2.views import ImagesAPIViewSet


class PublicPagesAPIViewSet(PagesAPIViewSet):
    """Pages as every citizen sees them, whoever asks.

    Wagtail lets a logged-in user or a session that knows a page's password see
    restricted pages here; the app's API offers no login and shows only what
    is public. No login also means no password guessing through HTTP Basic.
    """

    authentication_classes = []
    # The browsable HTML view needs inline styles the portal's CSP refuses.
    renderer_classes = [JSONRenderer]

    def get_base_queryset(self):
        return super().get_base_queryset().public()


class PublicImagesAPIViewSet(ImagesAPIViewSet):
    authentication_classes = []
    renderer_classes = [JSONRenderer]


api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", PublicPagesAPIViewSet)
api_router.register_endpoint("images", PublicImagesAPIViewSet)
