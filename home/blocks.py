"""StreamField blocks for the body of articles and standard pages."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageBlock

RICH_TEXT_FEATURES = ["bold", "italic", "link", "document-link", "ol", "ul"]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Überschrift"), max_length=200)
    level = blocks.ChoiceBlock(
        label=_("Ebene"),
        choices=[("h2", _("Zwischenüberschrift")), ("h3", _("Unterüberschrift"))],
        default="h2",
    )

    class Meta:
        icon = "title"
        label = _("Überschrift")
        template = "blocks/heading_block.html"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock(label=_("Zitat"))
    attribution = blocks.CharBlock(label=_("Quelle"), required=False, max_length=200)

    class Meta:
        icon = "openquote"
        label = _("Zitat")
        template = "blocks/quote_block.html"


class FigureBlock(blocks.StructBlock):
    image = ImageBlock(label=_("Bild"))
    caption = blocks.CharBlock(label=_("Bildunterschrift"), required=False, max_length=300)

    class Meta:
        icon = "image"
        label = _("Bild")
        template = "blocks/figure_block.html"


class BodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(label=_("Absatz"), features=RICH_TEXT_FEATURES)
    figure = FigureBlock()
    quote = QuoteBlock()
