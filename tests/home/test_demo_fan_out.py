"""The demo's fan-out: Freigabe releases the waiting article, and each stand-in gets one copy."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from mastodon import Mastodon

from home import demo_content
from home.models import ArticlePage
from sandbox import smtp
from sandbox.mastodon import DEFAULT_TOKEN, MastodonSandbox, default_config
from syndication.models import ChannelAccount, Delivery
from tests import factories
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_mastodon():
    """The Mastodon stand-in as `make run` serves it: the city's account with its fixed token."""
    with MastodonSandbox(default_config(token=DEFAULT_TOKEN)) as sandbox:
        yield sandbox


@pytest.fixture
def demo_mail(settings):
    with smtp.start_in_thread(certificate=settings.SYNDICATION_SMTP_CA_FILE) as server:
        yield server


@pytest.fixture
def stand_ins(demo_mastodon, x_api, facebook_api, bluesky_api, flickr_api, youtube_api):
    """Each network's stand-in by network name."""
    return {
        "mastodon": demo_mastodon,
        "x": x_api,
        "facebook": facebook_api,
        "bluesky": bluesky_api,
        "flickr": flickr_api,
        "youtube": youtube_api,
    }


@pytest.fixture
def demo(transactional_db, stand_ins, demo_mail):
    """The Musterstadt demo, its accounts (with the credentials it stored) pointed at this test's stand-ins."""
    factories.wagtail_roots()
    call_command("load_demo", "--quiet-logins", stdout=io.StringIO())
    for network, stand_in in stand_ins.items():
        base_url = stand_in.base_url if network == "mastodon" else stand_in.url
        ChannelAccount.objects.filter(network=network).update(base_url=base_url)
    ChannelAccount.objects.filter(network__in=["press", "maillist"]).update(base_url=demo_mail.url)
    return ArticlePage.objects.get(slug=demo_content.ARTICLE_IN_REVIEW["slug"])


def approve(client, username, article):
    client.force_login(get_user_model().objects.get(username=username))
    task_state = article.current_workflow_task_state
    url = reverse("wagtailadmin_pages:workflow_action", args=(article.pk, "approve", task_state.pk))
    return client.post(url, {"comment": "Freigegeben."})


def test_release_of_the_waiting_article_posts_one_copy_to_each_stand_in(
    demo, celery_worker, client, demo_mastodon, x_api, demo_mail, stand_ins
):
    article = demo
    assert approve(client, "freigabe", article).status_code == 302

    article.refresh_from_db()
    assert article.live
    for account in ChannelAccount.objects.all():
        wait_for(
            lambda account=account: Delivery.objects.filter(
                page=article, account=account, state=Delivery.State.POSTED
            ).exists(),
            message=f"{account} to be posted",
        )
    texts = {
        excerpt.account.network: excerpt.text
        for excerpt in article.excerpts.all()
        if excerpt.account.network in stand_ins
    }
    observer = Mastodon(access_token=DEFAULT_TOKEN, api_base_url=demo_mastodon.base_url, request_timeout=5)
    statuses = observer.account_statuses(observer.me()["id"])
    assert len(statuses) == 1
    assert article.title in statuses[0]["content"]
    assert [post["text"] for post in x_api.app.posts()] == [texts["x"]]
    # The photo and video networks: the main image on Facebook, all four images as one album on
    # Flickr, the video on YouTube, each once with the released excerpt.
    live = {
        network: [post for post in stand_ins[network].app.posts() if not post["deleted"]]
        for network in ("facebook", "bluesky", "flickr", "youtube")
    }
    assert [(post["text"], bool(post["photo"])) for post in live["facebook"]] == [(texts["facebook"], True)]
    assert [post["text"] for post in live["bluesky"]] == [texts["bluesky"]]
    albums = [post for post in live["flickr"] if post["kind"] == "photoset"]
    assert len(albums) == 1 and texts["flickr"] in albums[0]["text"]
    assert len([post for post in live["flickr"] if post["kind"] == "photo"]) == 4
    assert [(post["title"], post["text"]) for post in live["youtube"]] == [(article.title, texts["youtube"])]
    assert live["youtube"][0]["size"] == article.video.get_file_size()
    # One mail to the press list, one to the council's list.
    assert [received.message["Subject"] for received in demo_mail.messages()] == [article.title] * 2
