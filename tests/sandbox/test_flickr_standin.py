"""The Flickr stand-in speaks Flickr's wire format: signed calls, JSON with stat, the upload's XML, its errors."""

import io
from urllib.parse import urlencode

import pytest
import requests
from oauthlib.oauth1 import Client
from PIL import Image
from requests_oauthlib import OAuth1

from sandbox import flickr
from tests.conftest import wait_for

JSON = {"format": "json", "nojsoncallback": "1"}


@pytest.fixture
def keys():
    return {
        "client_key": flickr.DEFAULT_API_KEY,
        "client_secret": flickr.DEFAULT_API_SECRET,
        "resource_owner_key": flickr.DEFAULT_TOKEN,
        "resource_owner_secret": flickr.DEFAULT_TOKEN_SECRET,
    }


def rest(flickr_api, keys, method, *, post=False, **params):
    params = {"method": method, **JSON, **params}
    url = f"{flickr_api.url}/rest"
    if post:
        return requests.post(url, data=params, auth=OAuth1(**keys), timeout=5)
    return requests.get(url, params=params, auth=OAuth1(**keys), timeout=5)


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(flickr_api, keys, content, fields, signed_fields=None):
    """A multipart upload signed over `signed_fields` (by default the fields sent), as Flickr wants."""
    url = f"{flickr_api.url}/upload/"
    body = urlencode(fields if signed_fields is None else signed_fields)
    _uri, headers, _body = Client(**keys).sign(
        url, "POST", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    return requests.post(
        url,
        data=fields,
        files={"photo": ("bild.png", content, "image/png")},
        headers={"Authorization": headers["Authorization"]},
        timeout=5,
    )


def test_a_signed_call_answers_json_with_stat_ok(flickr_api, keys):
    answer = rest(flickr_api, keys, "flickr.test.login")

    assert answer.status_code == 200
    assert answer.json() == {
        "user": {"id": flickr.DEFAULT_NSID, "username": {"_content": flickr.DEFAULT_USERNAME}},
        "stat": "ok",
    }


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"resource_owner_secret": "0000000000000000"}, 96, "Invalid signature"),
        ({"client_key": "ffffffffffffffffffffffffffffffff"}, 100, "Invalid API Key (Key not found)"),
        ({"resource_owner_key": "72157720000000099-0000000000000000"}, 98, "Invalid auth token"),
    ],
)
def test_a_wrongly_signed_call_fails_with_flickrs_code_and_http_200(flickr_api, keys, change, code, message):
    answer = rest(flickr_api, {**keys, **change}, "flickr.test.login")

    assert answer.status_code == 200
    assert answer.json() == {"stat": "fail", "code": code, "message": message}


def test_an_unsigned_call_is_refused(flickr_api):
    answer = requests.get(
        f"{flickr_api.url}/rest", params={"method": "flickr.test.login", "api_key": "x", **JSON}, timeout=5
    )

    assert answer.json() == {"stat": "fail", "code": 97, "message": "Missing signature"}


def test_a_replayed_signature_is_refused(flickr_api, keys):
    prepared = requests.Request(
        "GET", f"{flickr_api.url}/rest", params={"method": "flickr.test.login", **JSON}, auth=OAuth1(**keys)
    ).prepare()
    with requests.Session() as session:
        first = session.send(prepared, timeout=5)
        again = session.send(prepared, timeout=5)

    assert first.json()["stat"] == "ok"
    assert again.json()["code"] == 96


def test_an_unknown_method_and_another_format_are_flickrs_errors(flickr_api, keys):
    assert rest(flickr_api, keys, "flickr.photos.fly").json() == {
        "stat": "fail",
        "code": 112,
        "message": 'Method "flickr.photos.fly" not found',
    }
    xml = requests.get(
        f"{flickr_api.url}/rest", params={"method": "flickr.test.login"}, auth=OAuth1(**keys), timeout=5
    )
    assert '<err code="111" msg="Format &quot;rest&quot; not found" />' in xml.text


def test_an_upload_answers_the_photo_id_in_xml_and_checks_the_signature_over_its_fields(flickr_api, keys):
    fields = {"title": "Rathaus", "description": "Schön & neu", "tags": "rathaus stadtfunk:copy=a"}

    accepted = upload(flickr_api, keys, png(), fields)
    forged = upload(flickr_api, keys, png(), {**fields, "title": "Anders"}, signed_fields=fields)

    assert accepted.headers["Content-Type"].startswith("text/xml")
    photo_id = flickr_api.app.posts()[0]["id"]
    assert f'<rsp stat="ok">\n<photoid>{photo_id}</photoid>\n</rsp>' in accepted.text
    assert '<rsp stat="fail">\n<err code="96" msg="Invalid signature" />' in forged.text
    assert [post["title"] for post in flickr_api.app.posts()] == ["Rathaus"]


def test_an_upload_that_is_no_image_is_refused(flickr_api, keys):
    answer = upload(flickr_api, keys, b"%PDF-1.7 kein Bild", {"title": "PDF"})

    assert '<err code="5" msg="Filetype was not recognised" />' in answer.text
    assert flickr_api.app.posts() == []


def test_an_album_is_listed_with_its_photos_and_leaves_with_its_last_photo(flickr_api, keys):
    upload(flickr_api, keys, png(), {"title": "Eins"})
    photo_id = flickr_api.app.posts()[0]["id"]
    created = rest(
        flickr_api, keys, "flickr.photosets.create", post=True, title="Album", primary_photo_id=photo_id
    ).json()
    album_id = created["photoset"]["id"]

    listed = rest(flickr_api, keys, "flickr.photosets.getPhotos", photoset_id=album_id).json()
    rest(flickr_api, keys, "flickr.photos.delete", post=True, photo_id=photo_id)
    gone = rest(flickr_api, keys, "flickr.photosets.getPhotos", photoset_id=album_id).json()

    assert created["photoset"]["url"] == f"https://www.flickr.com/photos/musterstadt/albums/{album_id}"
    assert listed["photoset"]["photo"][0]["id"] == photo_id
    assert listed["photoset"]["photo"][0]["isprimary"] == "1"
    assert (listed["photoset"]["total"], listed["photoset"]["pages"]) == (1, 1)
    assert gone == {"stat": "fail", "code": 1, "message": "Photoset not found"}


def test_photos_are_found_by_machine_tag(flickr_api, keys):
    upload(flickr_api, keys, png(), {"title": "A", "tags": "stadtfunk:copy=eins stadtfunk:image=1"})
    upload(flickr_api, keys, png(), {"title": "B", "tags": "stadtfunk:copy=zwei"})

    found = rest(
        flickr_api,
        keys,
        "flickr.photos.search",
        user_id="me",
        machine_tags="stadtfunk:copy=eins",
        extras="machine_tags",
    ).json()

    [photo] = found["photos"]["photo"]
    assert photo["title"] == "A"
    assert photo["machine_tags"] == "stadtfunk:copy=eins stadtfunk:image=1"


def test_comments_are_listed_from_a_date_on_with_flickrs_fields(flickr_api, keys):
    upload(flickr_api, keys, png(), {"title": "A"})
    photo_id = flickr_api.app.posts()[0]["id"]
    old = flickr_api.app.citizen_reply(photo_id, "Alt")
    flickr_api.app.backdate(old["id"], 600)
    new = flickr_api.app.citizen_reply(photo_id, "Neu", username="sam_taylor")

    listed = rest(
        flickr_api,
        keys,
        "flickr.photos.comments.getList",
        photo_id=photo_id,
        min_comment_date=new["datecreate"],
    ).json()

    [comment] = listed["comments"]["comment"]
    assert listed["comments"]["photo_id"] == photo_id
    assert comment["_content"] == "Neu"
    assert {"id", "author", "authorname", "realname", "datecreate", "permalink"} <= comment.keys()


def test_throttling_and_outages_answer_as_flickrs_front_servers_do(flickr_api, keys):
    flickr_api.faults.throttle("GET", "/rest", retry_after=7)
    flickr_api.app.make_unavailable()

    throttled = rest(flickr_api, keys, "flickr.test.login")
    unavailable = rest(flickr_api, keys, "flickr.test.login")

    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert throttled.headers["Content-Type"].startswith("text/html")
    assert unavailable.json() == {"stat": "fail", "code": 105, "message": "Service currently unavailable"}


def test_citizens_comment_edit_and_delete_through_the_control_endpoints(flickr_api, keys):
    upload(flickr_api, keys, png(), {"title": "A"})
    photo_id = flickr_api.app.posts()[0]["id"]

    def control(name, body):
        return requests.post(f"{flickr_api.url}/_sandbox/{name}", json=body, timeout=5)

    comment = control("citizen-reply", {"photo_id": photo_id, "text": "Hallo"}).json()["comment"]
    control("edit-reply", {"id": comment["id"], "text": "Hallo!"})
    listed = rest(flickr_api, keys, "flickr.photos.comments.getList", photo_id=photo_id).json()
    control("delete-reply", {"id": comment["id"]})
    emptied = rest(flickr_api, keys, "flickr.photos.comments.getList", photo_id=photo_id).json()

    assert [c["_content"] for c in listed["comments"]["comment"]] == ["Hallo!"]
    assert emptied == {"comments": {"photo_id": photo_id}, "stat": "ok"}


def test_in_the_demo_citizens_comment_on_a_new_album(keys):
    with flickr.start_in_thread(citizen_replies_after=0.05) as demo:
        upload(demo, keys, png(), {"title": "A"})
        photo_id = demo.app.posts()[0]["id"]
        rest(demo, keys, "flickr.photosets.create", post=True, title="Album", primary_photo_id=photo_id)

        wait_for(lambda: len(demo.app.comments()) == len(flickr.DEMO_COMMENTS), timeout=5)

        assert [c["text"] for c in demo.app.comments()] == [text for _user, text in flickr.DEMO_COMMENTS]
