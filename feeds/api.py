"""The read-only Wagtail API (v2) for the city app: live, public pages and the images they show."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, IntegerField
from django.db.models.functions import Cast
from rest_framework.renderers import JSONRenderer
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.images import get_image_model
from wagtail.images.api.v2.views import ImagesAPIViewSet
from wagtail.models import Page, ReferenceIndex


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
    """Only images that a live, public page shows: the library also holds drafts' and private pages' images."""

    authentication_classes = []
    renderer_classes = [JSONRenderer]

    def get_queryset(self):
        return super().get_queryset().filter(pk__in=shown_image_ids())


def shown_image_ids():
    """Ids of the images live, public pages refer to (main image, images in the body), as a subquery.

    Wagtail's reference index is written from a page's row, which holds the live
    content of a live page; a draft's changes live only in its revision.
    """
    public_pages = Page.objects.live().public().annotate(key=Cast("pk", CharField())).values("key")
    return (
        ReferenceIndex.objects.filter(
            base_content_type=ContentType.objects.get_for_model(Page),
            object_id__in=public_pages,
            to_content_type=ContentType.objects.get_for_model(get_image_model()),
        )
        .annotate(image_id=Cast("to_object_id", IntegerField()))
        .values("image_id")
    )


api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", PublicPagesAPIViewSet)
api_router.register_endpoint("images", PublicImagesAPIViewSet)
