"""Build the POST bodies of Wagtail's page editor the way the browser sends them."""

from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield


def article_form_data(article, **changes):
    data = {
        "title": article.title,
        "slug": article.slug,
        "teaser": article.teaser,
        "main_image": article.main_image_id,
        "main_image_alt": article.main_image_alt,
        "body": streamfield([("paragraph", rich_text("<p>Ein Ticket gilt für alle Häuser.</p>"))]),
        "kind": article.kind,
        "date": article.date.isoformat(),
        "tags": "",
        "go_live_at": "",
        "expire_at": "",
        "bypass_reason": "",
        "comments": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0, "MAX_NUM_FORMS": 1000},
        "excerpts": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0, "MAX_NUM_FORMS": 1000},
        "gallery_images": {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0, "MIN_NUM_FORMS": 0, "MAX_NUM_FORMS": 1000},
        "video": article.video_id or "",
        "video_captions": article.video_captions_id or "",
        "video_transcript": article.video_transcript,
    }
    data.update(changes)
    return nested_form_data(data)
