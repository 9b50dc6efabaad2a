"""Media a selected network cannot take is refused when the article is submitted, naming the account and network."""

import pytest
from django.urls import reverse
from wagtail.test.utils.form_data import inline_formset

from home.models import ArticlePage
from syndication.models import ChannelAccount
from tests import factories
from tests.editorial.admin_forms import article_form_data
from tests.editorial.conftest import newsroom  # noqa: F401

pytestmark = pytest.mark.django_db


def account(network, name, newsroom):  # noqa: F811
    created = ChannelAccount(network=network, name=name, base_url=f"https://{network}.example")
    # What any of the networks asks for; nothing is sent in these tests.
    created.set_credentials(
        {
            "access_token": "token",
            "token_secret": "s",
            "api_key": "k",
            "api_secret": "a",
            "refresh_token": "r",
        }
    )
    created.save()
    created.groups.set([newsroom.groups["Redaktion Kultur"]])
    return created


def new_article(**kwargs):
    return ArticlePage(
        title="Adventsmarkt öffnet",
        slug="adventsmarkt",
        teaser="Rund 60 Stände auf dem Marktplatz.",
        main_image=factories.image(),
        main_image_alt="Der Marktplatz im Schnee",
        **kwargs,
    )


def submit(client, newsroom, article, *accounts, **changes):  # noqa: F811
    """Zur Freigabe einreichen for a new article in Kultur."""
    client.force_login(newsroom.users.redaktion_kultur)
    data = article_form_data(
        article,
        excerpts=inline_formset([{"id": "", "account": chosen.pk, "text": ""} for chosen in accounts]),
        **changes,
    )
    data["action-submit"] = "1"
    url = reverse("wagtailadmin_pages:add", args=("home", "articlepage", newsroom.sections["kultur"].pk))
    return client.post(url, data)


def account_errors(response):
    formset = response.context["form"].formsets["excerpts"]
    return [error for form in formset.forms for error in form.errors.get("account", [])]


def test_a_video_network_without_a_video_is_refused_by_name(client, newsroom):  # noqa: F811
    youtube = account("youtube", "Stadt Musterstadt", newsroom)

    response = submit(client, newsroom, new_article(), youtube)

    assert response.status_code == 200
    assert account_errors(response) == [
        "Stadt Musterstadt (YouTube) braucht ein Video – entfernen Sie das Konto im Reiter Kanäle "
        "oder fügen Sie ein Video hinzu."
    ]
    assert not ArticlePage.objects.filter(slug="adventsmarkt").exists()


def test_an_album_with_more_images_than_the_network_holds_is_refused(client, newsroom):  # noqa: F811
    flickr = account("flickr", "Stadt Musterstadt", newsroom)
    limit = flickr.channel_class().media_limits.max_images
    gallery = [
        {"id": "", "image": factories.image().pk, "alt": f"Bild {number}", "caption": ""}
        for number in range(limit)
    ]

    response = submit(client, newsroom, new_article(), flickr, gallery_images=inline_formset(gallery))

    assert response.status_code == 200
    assert account_errors(response) == [
        f"Stadt Musterstadt (Flickr) nimmt höchstens {limit} Bilder, die Seite hat {limit + 1} – "
        "entfernen Sie das Konto im Reiter Kanäle oder passen Sie die Medien im Reiter Inhalt an."
    ]


def test_media_the_networks_take_passes_and_the_page_is_submitted(client, newsroom):  # noqa: F811
    youtube = account("youtube", "Stadt Musterstadt", newsroom)
    flickr = account("flickr", "Stadt Musterstadt", newsroom)
    video = factories.document()

    response = submit(
        client,
        newsroom,
        new_article(),
        youtube,
        flickr,
        video=video.pk,
        video_transcript="Ein kurzer Film ohne Ton.",
    )

    assert response.status_code == 302
    article = ArticlePage.objects.get(slug="adventsmarkt")
    assert article.video_id == video.pk
    assert {excerpt.account.network for excerpt in article.excerpts.all()} == {"youtube", "flickr"}


def test_the_editors_counter_names_media_and_what_a_change_does_per_network(client, newsroom):  # noqa: F811
    client.force_login(newsroom.users.redaktion_kultur)
    rules = {}
    for network in ("flickr", "bluesky", "youtube"):
        chosen = account(network, "Stadt Musterstadt", newsroom)
        response = client.post(reverse("syndication_excerpt_length"), {"account": chosen.pk, "text": "Hallo"})
        assert response.status_code == 200
        rules[network] = response.json()["counting_rule"]

    assert "Medien: braucht mindestens ein Bild; alle Bilder, bis zu 20" in rules["flickr"]
    assert rules["flickr"].endswith("Änderungen werden nachgetragen")
    assert "Medien: das Hauptbild" in rules["bluesky"]
    assert rules["bluesky"].endswith("Nicht bearbeitbar; bei Änderungen: Stehen lassen")
    assert "Medien: braucht ein Video; Video bis 256 GB" in rules["youtube"]
