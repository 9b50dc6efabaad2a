"""The portal's page types: home, topic sections, articles and standard pages."""

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel, ObjectList, TabbedInterface
from wagtail.api import APIField
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.images.api.fields import ImageRenditionField
from wagtail.models import Orderable, Page
from wagtail.search import index

from editorial.bypass import BYPASS_PERMISSION
from editorial.forms import EditorialPageForm
from syndication.discussion import DiscussionPageMixin
from syndication.forms import ExcerptCheckingPageForm
from syndication.panels import PageDeliveriesPanel

from .blocks import RICH_TEXT_FEATURES, BodyBlock

ARTICLES_PER_PAGE = 10

# Every page type uses the editorial form: administrators who publish without a
# workflow give their reason here; nobody else sees the field.
RELEASE_SETTINGS_PANELS = Page.settings_panels + [FieldPanel("bypass_reason", permission=BYPASS_PERMISSION)]


class HomePage(Page):
    """The portal's front page: the latest news and the topic areas."""

    base_form_class = EditorialPageForm
    settings_panels = RELEASE_SETTINGS_PANELS

    intro = models.TextField(_("Einleitung"), blank=True, max_length=500)

    content_panels = Page.content_panels + [FieldPanel("intro")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["home.SectionPage", "home.StandardPage"]
    max_count = 1

    class Meta:
        verbose_name = _("Startseite")
        verbose_name_plural = _("Startseiten")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["latest_articles"] = (
            ArticlePage.objects.live()
            .public()
            .descendant_of(self)
            .select_related("main_image")
            .order_by("-date", "-first_published_at")[:6]
        )
        context["sections"] = SectionPage.objects.live().public().child_of(self)
        return context


class SectionPage(Page):
    """A topic area such as Rathaus or Kultur, with its responsible editor."""

    base_form_class = EditorialPageForm
    settings_panels = RELEASE_SETTINGS_PANELS

    intro = models.TextField(_("Einleitung"), blank=True, max_length=500)
    responsible_name = models.CharField(
        _("Verantwortlich (V.i.S.d.P.)"),
        max_length=200,
        help_text=_("Name der Person, die für diesen Themenbereich presserechtlich verantwortlich ist."),
    )
    responsible_role = models.CharField(_("Funktion der verantwortlichen Person"), max_length=200, blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        MultiFieldPanel(
            [FieldPanel("responsible_name"), FieldPanel("responsible_role")],
            heading=_("Verantwortlich im Sinne des Presserechts"),
        ),
    ]
    search_fields = Page.search_fields + [index.SearchField("intro")]
    api_fields = [APIField("intro"), APIField("responsible_name"), APIField("responsible_role")]

    parent_page_types = ["home.HomePage"]
    subpage_types = ["home.ArticlePage"]

    class Meta:
        verbose_name = _("Themenbereich")
        verbose_name_plural = _("Themenbereiche")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        articles = (
            ArticlePage.objects.live()
            .public()
            .child_of(self)
            .select_related("main_image")
            .order_by("-date", "-first_published_at")
        )
        context["articles"] = Paginator(articles, ARTICLES_PER_PAGE).get_page(request.GET.get("seite"))
        return context


class ArticlePageTag(TaggedItemBase):
    content_object = ParentalKey("home.ArticlePage", related_name="tagged_items", on_delete=models.CASCADE)


# What the portal plays in its <video> element, and the captions it offers with it.
VIDEO_EXTENSIONS = ("mp4", "webm", "mov")
CAPTION_EXTENSIONS = ("vtt",)


class ArticleGalleryImage(Orderable):
    """One image of an article's gallery, with the alternative text it is shown and sent with."""

    page = ParentalKey("home.ArticlePage", related_name="gallery_images", on_delete=models.CASCADE)
    image = models.ForeignKey(
        "wagtailimages.Image", verbose_name=_("Bild"), on_delete=models.PROTECT, related_name="+"
    )
    alt = models.CharField(
        _("Alternativtext"),
        max_length=250,
        help_text=_("Beschreibt, was auf dem Bild zu sehen ist, für Menschen, die es nicht sehen können."),
    )
    caption = models.CharField(_("Bildunterschrift"), max_length=250, blank=True)

    panels = [FieldPanel("image"), FieldPanel("alt"), FieldPanel("caption")]

    class Meta(Orderable.Meta):
        verbose_name = _("Galeriebild")
        verbose_name_plural = _("Bildergalerie")


def extension_of(document):
    return document.file_extension.lower() if document is not None else ""


class ArticlePage(DiscussionPageMixin, Page):
    """A news item or a press release within a section."""

    base_form_class = ExcerptCheckingPageForm
    settings_panels = RELEASE_SETTINGS_PANELS

    class Kind(models.TextChoices):
        NEWS = "news", _("Meldung")
        PRESS_RELEASE = "press", _("Pressemitteilung")

    kind = models.CharField(_("Art"), max_length=10, choices=Kind.choices, default=Kind.NEWS)
    date = models.DateField(_("Datum"), default=timezone.localdate)
    teaser = models.TextField(
        _("Anreißer"),
        max_length=400,
        help_text=_(
            "Ein bis zwei Sätze; erscheint in Listen, Suchergebnissen und als Grundlage der Kanaltexte."
        ),
    )
    main_image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("Hauptbild"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    main_image_alt = models.CharField(
        _("Alternativtext des Hauptbilds"),
        max_length=250,
        help_text=_("Beschreibt, was auf dem Bild zu sehen ist, für Menschen, die es nicht sehen können."),
    )
    body = StreamField(BodyBlock(), verbose_name=_("Inhalt"))
    video = models.ForeignKey(
        "wagtaildocs.Document",
        verbose_name=_("Video"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Eine Videodatei (MP4, WebM oder MOV) aus den Dokumenten."),
    )
    video_captions = models.ForeignKey(
        "wagtaildocs.Document",
        verbose_name=_("Untertitel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Untertitel als WebVTT-Datei (.vtt) aus den Dokumenten."),
    )
    video_transcript = models.TextField(
        _("Abschrift des Videos"),
        blank=True,
        help_text=_(
            "Was im Video gesagt und gezeigt wird, für Menschen, die es nicht sehen oder hören können."
        ),
    )
    tags = ClusterTaggableManager(through=ArticlePageTag, blank=True, verbose_name=_("Schlagwörter"))

    content_panels = Page.content_panels + [
        FieldPanel("teaser"),
        MultiFieldPanel(
            [FieldPanel("main_image"), FieldPanel("main_image_alt")],
            heading=_("Hauptbild"),
        ),
        FieldPanel("body"),
        InlinePanel("gallery_images", heading=_("Bildergalerie"), label=_("Galeriebild")),
        MultiFieldPanel(
            [FieldPanel("video"), FieldPanel("video_captions"), FieldPanel("video_transcript")],
            heading=_("Video"),
        ),
    ]
    promote_panels = Page.promote_panels + [
        MultiFieldPanel(
            [FieldPanel("kind"), FieldPanel("date"), FieldPanel("tags")],
            heading=_("Einordnung"),
        ),
    ]
    channel_panels = [
        InlinePanel(
            "excerpts",
            heading=_("Kanäle"),
            label=_("Kanaltext"),
            help_text=_(
                "Ein Text je Konto. Er wird mit der Seite freigegeben und beim Veröffentlichen gesendet."
            ),
        ),
        PageDeliveriesPanel(heading=_("Stand in den Kanälen")),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Inhalt")),
            ObjectList(channel_panels, heading=_("Kanäle")),
            ObjectList(promote_panels, heading=_("Einordnung")),
            ObjectList(RELEASE_SETTINGS_PANELS, heading=_("Einstellungen")),
        ]
    )
    search_fields = Page.search_fields + [
        index.SearchField("teaser"),
        index.SearchField("body"),
        index.FilterField("date"),
    ]
    api_fields = [
        APIField("teaser"),
        APIField("date"),
        APIField("kind"),
        APIField("tags"),
        APIField("main_image"),
        APIField("main_image_alt"),
        # The teaser's crop, so the app needs no image processing of its own.
        APIField("main_image_thumbnail", serializer=ImageRenditionField("fill-480x270", source="main_image")),
        APIField("body"),
    ]

    parent_page_types = ["home.SectionPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("Artikel")
        verbose_name_plural = _("Artikel")

    @property
    def section(self):
        return SectionPage.objects.parent_of(self).first()

    def gallery(self):
        """The gallery's images with their files, in the editor's order, without a query per image."""
        return self.gallery_images.select_related("image").prefetch_related("image__renditions")

    def clean(self):
        super().clean()
        errors = {}
        if self.video_id and extension_of(self.video) not in VIDEO_EXTENSIONS:
            errors["video"] = _("Das ist keine Videodatei (erlaubt: %(types)s).") % {
                "types": ", ".join(VIDEO_EXTENSIONS)
            }
        if self.video_captions_id and extension_of(self.video_captions) not in CAPTION_EXTENSIONS:
            errors["video_captions"] = _("Untertitel müssen eine WebVTT-Datei (.vtt) sein.")
        if self.video_captions_id and not self.video_id:
            errors["video_captions"] = _("Untertitel gehören zu einem Video.")
        if self.video_id and not self.video_transcript.strip():
            errors["video_transcript"] = _("Ein Video braucht eine Abschrift (BITV 2.0, WCAG 1.2).")
        if errors:
            raise ValidationError(errors)


class StandardPage(Page):
    """A page of fixed content: imprint, privacy policy, accessibility statement."""

    base_form_class = EditorialPageForm
    settings_panels = RELEASE_SETTINGS_PANELS

    body = RichTextField(_("Inhalt"), features=["h2", "h3", *RICH_TEXT_FEATURES])

    content_panels = Page.content_panels + [FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("body")]

    parent_page_types = ["home.HomePage"]
    subpage_types = []

    class Meta:
        verbose_name = _("Standardseite")
        verbose_name_plural = _("Standardseiten")


@register_setting(icon="site")
class PortalSettings(BaseSiteSetting):
    """Who runs the portal and where its legally required pages are."""

    city_name = models.CharField(_("Name der Stadt"), max_length=100, default="Musterstadt")
    urgent_keywords = models.CharField(
        _("Dringende Stichwörter"),
        max_length=500,
        blank=True,
        default="Notfall, Gefahr, Feuer, Unfall",
        help_text=_(
            "Kommagetrennt: Ein Kommentar mit einem dieser Wörter wird der Moderation sofort gemeldet, "
            "nicht erst in der täglichen Übersicht."
        ),
    )
    imprint_page = models.ForeignKey(
        "home.StandardPage",
        verbose_name=_("Impressum"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    privacy_page = models.ForeignKey(
        "home.StandardPage",
        verbose_name=_("Datenschutzerklärung"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accessibility_page = models.ForeignKey(
        "home.StandardPage",
        verbose_name=_("Erklärung zur Barrierefreiheit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    panels = [
        FieldPanel("city_name"),
        FieldPanel("urgent_keywords"),
        FieldPanel("imprint_page"),
        FieldPanel("privacy_page"),
        FieldPanel("accessibility_page"),
    ]

    class Meta:
        verbose_name = _("Portal-Einstellungen")
