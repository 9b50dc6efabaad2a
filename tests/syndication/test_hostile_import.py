"""The hostile corpus travels the whole way: posted on the stand-ins, imported, approved, opened in Chromium.

Plain-text payloads come as replies on X; HTML payloads as Mastodon replies from
another server, whose markup reaches the instance as that server rendered it.
"""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group

from syndication import importer
from syndication.models import ImportedComment
from tests.syndication.fanout import city_accounts, posted_copy
from tests.syndication.test_discussion import CORPUS, open_and_inspect, squeeze

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hostile_replies_imported_from_the_stand_ins_are_harmless_and_readable(
    portal, mastodon, x_api, browser_page, live_server
):
    page = portal["museum"]
    accounts = city_accounts(mastodon, x_api, Group.objects.create(name="Redaktion Kultur"))
    copies = {network: posted_copy(page, account) for network, account in accounts.items()}
    remote_ids = {}
    for number, entry in enumerate(CORPUS):
        if entry["format"] == "text":
            reply = x_api.app.citizen_reply(copies["x"].remote_id, entry["text"], username=f"buerger{number}")
        else:
            reply = mastodon.sandbox.citizen_reply(copies["mastodon"].remote_id, f"Platzhalter {number}")
            mastodon.sandbox.federate(reply["id"], entry["text"])
        remote_ids[entry["id"]] = str(reply["id"])

    for account in accounts.values():
        importer.import_account(account.pk)
    ImportedComment.objects.update(state=ImportedComment.State.APPROVED)

    imported = dict(ImportedComment.objects.values_list("remote_id", "pk"))
    assert sorted(imported) == sorted(remote_ids.values())
    found = open_and_inspect(browser_page, page)
    assert found["handlers"] == []
    assert found["badLinks"] == []
    assert found["foreignElements"] == []
    assert found["scripts"] == 0
    unreadable = [
        entry["id"]
        for entry in CORPUS
        if squeeze(entry["readable"])
        not in squeeze(found["texts"][f"kommentar-{imported[remote_ids[entry['id']]]}"])
    ]
    assert unreadable == []
    own_host = urlsplit(live_server.url).netloc
    assert [url for url in browser_page.requested_urls if urlsplit(url).netloc != own_host] == []
