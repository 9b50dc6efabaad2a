"""The Graph API stand-in speaks Graph's wire format: ids, error bodies, usage headers, cursors, uploads."""

import json

import pytest
import requests

from sandbox import facebook

PAGE = facebook.DEFAULT_PAGE_ID
TOKEN = facebook.DEFAULT_TOKEN
VERSION = "v24.0"


def graph(server, method, path, token=TOKEN, **kwargs):
    params = kwargs.pop("params", {})
    if token and method in ("GET", "DELETE"):
        params["access_token"] = token
    data = kwargs.pop("data", {})
    if token and method == "POST":
        data["access_token"] = token
    return requests.request(
        method, f"{server.url}/{VERSION}/{path}", params=params, data=data, timeout=5, **kwargs
    )


def test_a_feed_post_answers_with_the_page_scoped_post_id(facebook_api):
    response = graph(
        facebook_api, "POST", f"{PAGE}/feed", data={"message": "Hallo", "link": "https://m.example/"}
    )

    assert response.status_code == 200
    post_id = response.json()["id"]
    assert post_id.startswith(f"{PAGE}_")
    assert facebook_api.app.posts()[0] | {"created_time": None} == {
        "id": post_id,
        "page_id": PAGE,
        "text": "Hallo",
        "link": "https://m.example/",
        "photo": {},
        "created_time": None,
        "deleted": False,
    }


def test_every_answer_reports_usage_in_graphs_headers(facebook_api):
    response = graph(facebook_api, "GET", "me", params={"fields": "id,name"})

    assert response.json() == {"id": PAGE, "name": facebook.DEFAULT_PAGE_NAME}
    assert set(json.loads(response.headers["X-App-Usage"])) == {"call_count", "total_cputime", "total_time"}
    business = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert business[PAGE][0]["type"] == "pages"
    assert business[PAGE][0]["estimated_time_to_regain_access"] == 0


def test_a_bad_token_is_an_oauth_exception_with_code_190(facebook_api):
    response = graph(facebook_api, "GET", "me", token="kein-token")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "OAuthException"
    assert error["code"] == 190
    assert {"message", "fbtrace_id", "is_transient"} <= set(error)


def test_a_throttle_control_refuses_the_next_calls_with_the_code_and_the_wait(facebook_api):
    requests.post(
        f"{facebook_api.url}/_sandbox/throttle", json={"times": 2, "code": 32, "minutes": 7}, timeout=5
    ).raise_for_status()

    first = graph(facebook_api, "GET", "me")
    second = graph(facebook_api, "GET", "me")
    third = graph(facebook_api, "GET", "me")

    assert [first.status_code, second.status_code, third.status_code] == [400, 400, 200]
    assert first.json()["error"]["code"] == 32
    assert first.json()["error"]["is_transient"] is True
    usage = json.loads(first.headers["X-Business-Use-Case-Usage"])[PAGE][0]
    assert usage["call_count"] == 100
    assert usage["estimated_time_to_regain_access"] == 7


def test_a_page_over_its_hourly_calls_is_throttled_with_80001(facebook_api):
    facebook_api.app.set_rate_limit(2)

    answers = [graph(facebook_api, "GET", "me") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 403]
    assert answers[2].json()["error"]["code"] == 80001


def test_a_deleted_post_is_gone_with_code_100_subcode_33(facebook_api):
    post_id = graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Weg damit"}).json()["id"]

    assert graph(facebook_api, "DELETE", post_id).json() == {"success": True}
    gone = graph(facebook_api, "GET", post_id).json()["error"]

    assert (gone["code"], gone["error_subcode"]) == (100, 33)
    assert facebook_api.app.posts()[0]["deleted"] is True


def test_the_same_status_twice_in_a_row_is_refused_as_a_duplicate(facebook_api):
    graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Zweimal"})

    again = graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Zweimal"})

    assert again.json()["error"]["code"] == 506


def test_a_photo_upload_answers_with_photo_and_post_id(facebook_api):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    response = graph(
        facebook_api,
        "POST",
        f"{PAGE}/photos",
        data={"caption": "Das Rathaus"},
        files={"source": ("rathaus.png", png, "image/png")},
    )

    body = response.json()
    assert set(body) == {"id", "post_id"}
    assert body["post_id"].startswith(f"{PAGE}_")
    assert facebook_api.app.posts()[0]["photo"] == {"filename": "rathaus.png", "size": len(png)}


def test_an_upload_that_is_no_image_is_refused(facebook_api):
    response = graph(
        facebook_api, "POST", f"{PAGE}/photos", files={"source": ("x.txt", b"kein Bild", "text/plain")}
    )

    assert response.json()["error"]["code"] == 324


def test_comments_come_in_pages_with_cursors_and_a_kept_cursor_finds_what_came_since(facebook_api):
    post_id = graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Fragen?"}).json()["id"]
    for number in range(3):
        facebook_api.app.citizen_comment(post_id, f"Frage {number}")
    params = {"filter": "stream", "order": "chronological", "limit": "2", "fields": "id,message"}

    first = graph(facebook_api, "GET", f"{post_id}/comments", params=dict(params)).json()
    second = graph(
        facebook_api,
        "GET",
        f"{post_id}/comments",
        params={**params, "after": first["paging"]["cursors"]["after"]},
    ).json()
    facebook_api.app.citizen_comment(post_id, "Frage 3")
    later = graph(
        facebook_api,
        "GET",
        f"{post_id}/comments",
        params={**params, "after": second["paging"]["cursors"]["after"]},
    ).json()

    assert [c["message"] for c in first["data"]] == ["Frage 0", "Frage 1"]
    assert "next" in first["paging"]
    assert [c["message"] for c in second["data"]] == ["Frage 2"]
    assert "next" not in second["paging"]
    assert [c["message"] for c in later["data"]] == ["Frage 3"]


def test_a_person_who_keeps_their_name_from_apps_comments_without_from(facebook_api):
    post_id = graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Hallo"}).json()["id"]
    facebook_api.app.citizen_comment(post_id, "Anonym", hidden=True)

    comment = graph(
        facebook_api, "GET", f"{post_id}/comments", params={"fields": "id,from{id,name},message"}
    ).json()["data"][0]

    assert "from" not in comment
    assert comment["message"] == "Anonym"


def test_an_unknown_field_is_refused_as_graph_does(facebook_api):
    response = graph(facebook_api, "GET", "me", params={"fields": "id,avatar"})

    assert "nonexisting field (avatar)" in response.json()["error"]["message"]


def test_multi_id_requests_are_refused(facebook_api):
    assert graph(facebook_api, "GET", "", params={"ids": "1,2"}).json()["error"]["code"] == 100


@pytest.mark.parametrize("status, code", [(500, 1), (503, 2)])
def test_injected_server_errors_come_in_graphs_shape(facebook_api, status, code):
    facebook_api.faults.error("GET", "/v24.0/me", status)

    response = graph(facebook_api, "GET", "me")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["is_transient"] is True


def test_citizens_comment_edit_and_delete_through_the_control_endpoints(facebook_api):
    post_id = graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Hallo"}).json()["id"]

    def control(control_name, **body):
        response = requests.post(f"{facebook_api.url}/_sandbox/{control_name}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    comment = control("citizen-comment", object_id=post_id, message="Erst so", name="Sam Taylor")
    control("edit-comment", id=comment["id"], message="Dann so")
    assert (
        graph(facebook_api, "GET", comment["id"], params={"fields": "message"}).json()["message"] == "Dann so"
    )
    control("delete-comment", id=comment["id"])
    assert graph(facebook_api, "GET", comment["id"]).json()["error"]["code"] == 100


def test_a_token_that_lost_a_permission_is_refused_the_calls_that_need_it(facebook_api):
    post = graph(facebook_api, "POST", f"{PAGE}/feed", data={"message": "Hallo"}).json()["id"]
    control = requests.post(
        f"{facebook_api.url}/_sandbox/lose-permission",
        json={"permission": "pages_read_engagement"},
        timeout=5,
    )

    assert control.status_code == 200
    refused = graph(facebook_api, "GET", f"{post}/comments")
    assert refused.status_code == 400
    assert refused.json()["error"] | {"fbtrace_id": None} == {
        "message": facebook.PERMISSION_REFUSALS["pages_read_engagement"][1],
        "type": "OAuthException",
        "code": 10,
        "is_transient": False,
        "fbtrace_id": None,
    }
    # Naming the Page needs no permission; editing the post needs another one.
    assert graph(facebook_api, "GET", "me", params={"fields": "id"}).status_code == 200
    assert graph(facebook_api, "POST", post, data={"message": "Neu"}).status_code == 200


def test_an_app_that_requires_appsecret_proof_refuses_every_call_without_it(facebook_api):
    requests.post(f"{facebook_api.url}/_sandbox/require-appsecret-proof", json={}, timeout=5)

    refused = graph(facebook_api, "GET", "me")

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["type"], "error_subcode" in error) == (100, "GraphMethodException", False)
    assert error["message"] == "API calls from the server require an appsecret_proof argument"
