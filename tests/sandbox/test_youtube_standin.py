"""The YouTube stand-in speaks Google's wire format: OAuth tokens, resumable uploads, errors, quota, paging."""

import requests

from sandbox import youtube

AUTH = {"Authorization": f"Bearer {youtube.DEFAULT_ACCESS_TOKEN}"}
VIDEO_BYTES = b"\x1a\x45\xdf\xa3" + b"\0" * 2044


def get(api, path, headers=AUTH, **params):
    return requests.get(f"{api.url}{path}", params=params, headers=headers, timeout=5)


def refresh(api, **form):
    grant = {
        "grant_type": "refresh_token",
        "refresh_token": youtube.DEFAULT_REFRESH_TOKEN,
        "client_id": youtube.DEFAULT_CLIENT_ID,
        "client_secret": youtube.DEFAULT_CLIENT_SECRET,
    }
    return requests.post(f"{api.url}/token", data={**grant, **form}, timeout=5)


def start_upload(api, title="Stadtrundgang", auth=AUTH, **snippet):
    return requests.post(
        f"{api.url}/upload/youtube/v3/videos",
        params={"uploadType": "resumable", "part": "snippet,status"},
        json={"snippet": {"title": title, "description": "Ein Rundgang.", **snippet}},
        headers={
            **auth,
            "X-Upload-Content-Type": "video/webm",
            "X-Upload-Content-Length": str(len(VIDEO_BYTES)),
        },
        timeout=5,
    )


def upload(api, **snippet):
    session = start_upload(api, **snippet).headers["Location"]
    size = len(VIDEO_BYTES)
    response = requests.put(
        session, data=VIDEO_BYTES, headers={"Content-Range": f"bytes 0-{size - 1}/{size}"}, timeout=5
    )
    return response.json()


def test_the_token_endpoint_renews_an_access_token_with_the_refresh_token(youtube_api):
    response = refresh(youtube_api)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert (
        get(
            youtube_api,
            "/youtube/v3/channels",
            headers={"Authorization": f"Bearer {body['access_token']}"},
            mine="true",
            part="snippet",
        ).status_code
        == 200
    )


def test_a_wrong_client_secret_and_a_revoked_grant_are_refused_as_google_does(youtube_api):
    assert refresh(youtube_api, client_secret="falsch").json()["error"] == "invalid_client"

    youtube_api.app.revoke()
    refused = refresh(youtube_api)

    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_an_expired_access_token_gets_401_with_googles_error_body(youtube_api):
    youtube_api.app.expire_access_tokens()

    response = get(youtube_api, "/youtube/v3/channels", mine="true", part="snippet")

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    error = response.json()["error"]
    assert error["code"] == 401
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"


def test_a_resumable_upload_takes_the_bytes_at_the_session_uri_and_answers_with_the_video(youtube_api):
    started = start_upload(youtube_api, tags=["stadtfunk-1"])
    assert started.status_code == 200
    session = started.headers["Location"]
    assert session.startswith(f"{youtube_api.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id=")

    first = requests.put(
        session, data=VIDEO_BYTES[:1000], headers={"Content-Range": "bytes 0-999/2048"}, timeout=5
    )
    assert first.status_code == 308
    assert first.headers["Range"] == "bytes=0-999"
    last = requests.put(
        session, data=VIDEO_BYTES[1000:], headers={"Content-Range": "bytes 1000-2047/2048"}, timeout=5
    )

    assert last.status_code == 201
    video = last.json()
    assert video["kind"] == "youtube#video"
    assert len(video["id"]) == 11
    assert video["snippet"]["tags"] == ["stadtfunk-1"]
    assert video["status"]["privacyStatus"] == "public"
    assert youtube_api.app.posts()[0]["size"] == 2048


def test_metadata_youtube_refuses_is_a_400_with_its_reason(youtube_api):
    response = start_upload(youtube_api, title="Stadt <Musterstadt>")

    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == "invalidTitle"


def test_a_used_up_quota_is_a_403_quota_exceeded_until_the_pacific_midnight(youtube_api):
    youtube_api.app.set_quota(used=youtube.DAILY_QUOTA - 1000)

    response = start_upload(youtube_api)

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["errors"][0]["domain"] == "youtube.quota"
    assert error["errors"][0]["reason"] == "quotaExceeded"
    assert "exceeded your" in error["message"]
    # A list call costs one unit and still fits.
    assert get(youtube_api, "/youtube/v3/channels", mine="true", part="id").status_code == 200
    # A day later the allowance is back (and the access token long expired).
    youtube_api.app.advance(24 * 60 * 60)
    fresh = {"Authorization": f"Bearer {refresh(youtube_api).json()['access_token']}"}
    assert start_upload(youtube_api, auth=fresh).status_code == 200
    assert youtube_api.app.quota_used() == 1600


def test_comment_threads_come_in_pages_with_at_most_five_replies_each(youtube_api):
    video = upload(youtube_api)
    for number in range(3):
        youtube_api.app.citizen_comment(video["id"], f"Kommentar {number}")
    busy = youtube_api.app.citizen_comment(video["id"], "Viel diskutiert")
    for number in range(7):
        youtube_api.app.citizen_reply(busy["id"], f"Antwort {number}", username="sam_taylor")

    first = get(
        youtube_api,
        "/youtube/v3/commentThreads",
        videoId=video["id"],
        part="snippet,replies",
        maxResults=2,
        textFormat="plainText",
    ).json()
    second = get(
        youtube_api,
        "/youtube/v3/commentThreads",
        videoId=video["id"],
        part="snippet,replies",
        maxResults=2,
        pageToken=first["nextPageToken"],
    ).json()

    assert first["kind"] == "youtube#commentThreadListResponse"
    assert first["pageInfo"]["totalResults"] == 4
    newest = first["items"][0]
    assert newest["snippet"]["topLevelComment"]["snippet"]["textDisplay"] == "Viel diskutiert"
    assert newest["snippet"]["totalReplyCount"] == 7
    assert len(newest["replies"]["comments"]) == 5
    assert "nextPageToken" not in second
    assert len(second["items"]) == 2
    replies = get(youtube_api, "/youtube/v3/comments", parentId=busy["id"], part="snippet").json()["items"]
    assert [reply["snippet"]["parentId"] for reply in replies] == [busy["id"]] * 7


def test_an_answer_must_go_under_the_top_level_comment(youtube_api):
    video = upload(youtube_api)
    question = youtube_api.app.citizen_comment(video["id"], "Wann?")
    reply = youtube_api.app.citizen_reply(question["id"], "Morgen.", username="sam_taylor")

    def insert(parent_id):
        body = {"snippet": {"parentId": parent_id, "textOriginal": "Danke!"}}
        return requests.post(
            f"{youtube_api.url}/youtube/v3/comments",
            params={"part": "snippet"},
            json=body,
            headers=AUTH,
            timeout=5,
        )

    assert insert(reply["id"]).status_code == 400
    created = insert(question["id"])
    assert created.status_code == 200
    assert created.json()["snippet"]["parentId"] == question["id"]


def test_an_update_replaces_the_snippet_and_needs_a_category(youtube_api):
    video = upload(youtube_api, tags=["stadtfunk-1"])

    def update(**snippet):
        body = {"id": video["id"], "snippet": {"title": "Neu", "description": "Neu.", **snippet}}
        return requests.put(
            f"{youtube_api.url}/youtube/v3/videos",
            params={"part": "snippet"},
            json=body,
            headers=AUTH,
            timeout=5,
        )

    assert update().json()["error"]["errors"][0]["reason"] == "invalidCategoryId"
    assert update(categoryId="25").status_code == 200
    assert youtube_api.app.posts()[0]["tags"] == []


def test_a_deleted_video_is_gone_and_a_second_delete_is_404(youtube_api):
    video = upload(youtube_api)

    def delete():
        return requests.delete(
            f"{youtube_api.url}/youtube/v3/videos", params={"id": video["id"]}, headers=AUTH, timeout=5
        )

    assert delete().status_code == 204
    again = delete()
    assert again.status_code == 404
    assert again.json()["error"]["errors"][0]["reason"] == "videoNotFound"
    assert get(youtube_api, "/youtube/v3/videos", id=video["id"], part="snippet").json()["items"] == []


def test_injected_server_errors_carry_googles_error_body(youtube_api):
    youtube_api.faults.error("GET", "/youtube/v3/channels", 503)

    response = get(youtube_api, "/youtube/v3/channels", mine="true", part="id")

    assert response.status_code == 503
    assert response.json()["error"]["errors"][0]["reason"] == "backendError"


def test_citizens_comment_answer_edit_and_delete_through_the_control_endpoints(youtube_api):
    video = upload(youtube_api)

    def control(name, **body):
        response = requests.post(f"{youtube_api.url}/_sandbox/{name}", json=body, timeout=5)
        assert response.status_code in (200, 201), response.text
        return response.json()

    comment = control("citizen-comment", video_id=video["id"], text="Wann?")
    reply = control("citizen-reply", comment_id=comment["id"], text="Morgen.", username="sam_taylor")
    control("edit-comment", id=comment["id"], text="Wann genau?")
    control("delete-comment", id=reply["id"])
    control("quota", used=youtube.DAILY_QUOTA)

    assert reply["snippet"]["parentId"] == comment["id"]
    assert [(c["text"], c["deleted"]) for c in control("comments")["comments"]] == [
        ("Wann genau?", False),
        ("Morgen.", True),
    ]
    assert get(youtube_api, "/youtube/v3/videos", id=video["id"], part="id").status_code == 403
    assert (
        requests.get(f"{youtube_api.url}/_sandbox/posts", timeout=5).json()["posts"][0]["id"] == video["id"]
    )
