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
def demo_mail():
    with smtp.start_in_thread() as server:
        yield server


@pytest.fixture
def demo(transactional_db, demo_mastodon, x_api, demo_mail):
    """The Musterstadt demo, its accounts (with the credentials it stored) pointed at this test's stand-ins."""
    factories.wagtail_roots()
    call_command("load_demo", "--quiet-logins", stdout=io.StringIO())
    ChannelAccount.objects.filter(network="mastodon").update(base_url=demo_mastodon.base_url)
    ChannelAccount.objects.filter(network="x").update(base_url=x_api.url)
    ChannelAccount.objects.filter(network__in=["press", "maillist"]).update(base_url=demo_mail.url)
    return ArticlePage.objects.get(slug=demo_content.ARTICLE_IN_REVIEW["slug"])


def approve(client, username, article):
    client.force_login(get_user_model().objects.get(username=username))
    task_state = article.current_workflow_task_state
    url = reverse("wagtailadmin_pages:workflow_action", args=(article.pk, "approve", task_state.pk))
    return client.post(url, {"comment": "Freigegeben."})


def test_release_of_the_waiting_article_posts_one_copy_to_each_stand_in(
    demo, celery_worker, client, demo_mastodon, x_api, demo_mail
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
    texts = {excerpt.account.network: excerpt.text for excerpt in article.excerpts.all()}
    observer = Mastodon(access_token=DEFAULT_TOKEN, api_base_url=demo_mastodon.base_url, request_timeout=5)
    statuses = observer.account_statuses(observer.me()["id"])
    assert len(statuses) == 1
    assert article.title in statuses[0]["content"]
    assert [post["text"] for post in x_api.app.posts()] == [texts["x"]]
    # One mail to the press list, one to the council's list.
    assert [received.message["Subject"] for received in demo_mail.messages()] == [article.title] * 2
