"""The Bluesky stand-in speaks XRPC as a PDS does: sessions as JWTs, record checks, threads, errors, rate-limit headers."""

import base64
import json
import time

import requests

from sandbox import bluesky

POST = "app.bsky.feed.post"


def xrpc(api, nsid, *, token=None, json_body=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if json_body is not None:
        return requests.post(f"{api.url}/xrpc/{nsid}", json=json_body, headers=headers, timeout=5)
    return requests.get(f"{api.url}/xrpc/{nsid}", params=params, headers=headers, timeout=5)


def log_in(api, password=bluesky.DEFAULT_APP_PASSWORD):
    return xrpc(
        api,
        "com.atproto.server.createSession",
        json_body={"identifier": bluesky.DEFAULT_HANDLE, "password": password},
    )


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def create(api, session, text, **record):
    return xrpc(
        api,
        "com.atproto.repo.createRecord",
        token=session["accessJwt"],
        json_body={
            "repo": session["did"],
            "collection": POST,
            "record": {"$type": POST, "text": text, "createdAt": "2026-11-27T10:00:00.000Z", **record},
        },
    )


def test_create_session_answers_jwts_with_an_expiry_and_the_accounts_did(bluesky_api):
    response = log_in(bluesky_api)

    assert response.status_code == 200
    session = response.json()
    assert session["handle"] == bluesky.DEFAULT_HANDLE
    assert session["did"].startswith("did:plc:")
    access, refresh = claims(session["accessJwt"]), claims(session["refreshJwt"])
    assert access["sub"] == session["did"]
    assert access["exp"] - access["iat"] == 2 * 60 * 60
    assert refresh["scope"] == "com.atproto.refresh"
    assert response.headers["RateLimit-Policy"] == "30;w=300"


def test_a_wrong_app_password_is_refused_in_the_pdss_words(bluesky_api):
    response = log_in(bluesky_api, password="falsch")

    assert response.status_code == 401
    assert response.json() == {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}


def test_an_expired_access_token_is_a_400_expired_token_and_the_refresh_token_renews_it_once(bluesky_api):
    session = log_in(bluesky_api).json()
    bluesky_api.app.advance(2 * 60 * 60 + 1)

    expired = xrpc(bluesky_api, "com.atproto.server.getSession", token=session["accessJwt"])
    refreshed = xrpc(
        bluesky_api, "com.atproto.server.refreshSession", token=session["refreshJwt"], json_body={}
    )
    again = xrpc(bluesky_api, "com.atproto.server.refreshSession", token=session["refreshJwt"], json_body={})

    assert (expired.status_code, expired.json()["error"]) == (400, "ExpiredToken")
    assert refreshed.status_code == 200
    assert xrpc(bluesky_api, "com.atproto.server.getSession", token=refreshed.json()["accessJwt"]).ok
    assert again.json() == {"error": "ExpiredToken", "message": "Token has been revoked"}


def test_a_forged_token_is_invalid_and_a_missing_one_unauthenticated(bluesky_api):
    session = log_in(bluesky_api).json()
    forged = session["accessJwt"][:-4] + "AAAA"

    assert xrpc(bluesky_api, "com.atproto.server.getSession", token=forged).json()["error"] == "InvalidToken"
    assert xrpc(bluesky_api, "com.atproto.server.getSession").status_code == 401


def test_a_post_of_301_graphemes_or_3001_bytes_is_refused_by_the_lexicon(bluesky_api):
    session = log_in(bluesky_api).json()

    accepted = create(bluesky_api, session, "🇩🇪" * 300)
    refused = create(bluesky_api, session, "a" * 301)
    too_many_bytes = create(bluesky_api, session, "👨‍👩‍👧" * 200)

    assert accepted.status_code == 200
    assert accepted.json()["uri"].startswith(f"at://{session['did']}/{POST}/")
    assert accepted.json()["cid"].startswith("bafyrei")
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
    }
    assert too_many_bytes.json()["message"].endswith("must not be longer than 3000 characters")


def test_a_card_picture_over_1_mb_is_refused(bluesky_api):
    session = log_in(bluesky_api).json()
    blob = requests.post(
        f"{bluesky_api.url}/xrpc/com.atproto.repo.uploadBlob",
        data=b"\xff\xd8\xff" + b"0" * 1_000_000,
        headers={"Authorization": f"Bearer {session['accessJwt']}", "Content-Type": "image/jpeg"},
        timeout=5,
    ).json()["blob"]
    card = {"uri": "https://musterstadt.example/", "title": "T", "description": "D", "thumb": blob}

    response = create(
        bluesky_api, session, "Mit Bild", embed={"$type": "app.bsky.embed.external", "external": card}
    )

    assert blob["size"] == 1_000_003
    assert response.status_code == 400
    assert "thumb file is too large" in response.json()["message"]


def test_list_records_pages_newest_first(bluesky_api):
    session = log_in(bluesky_api).json()
    made = [create(bluesky_api, session, f"Meldung {n}").json()["uri"] for n in range(3)]

    first = xrpc(
        bluesky_api, "com.atproto.repo.listRecords", repo=session["did"], collection=POST, limit=2
    ).json()
    second = xrpc(
        bluesky_api,
        "com.atproto.repo.listRecords",
        repo=bluesky.DEFAULT_HANDLE,
        collection=POST,
        limit=2,
        cursor=first["cursor"],
    ).json()

    assert [r["uri"] for r in first["records"] + second["records"]] == made[::-1]
    assert "cursor" not in second


def test_a_thread_nests_replies_to_the_asked_depth_and_shows_a_blocked_one_as_blocked(bluesky_api):
    session = log_in(bluesky_api).json()
    copy = create(bluesky_api, session, "Stadtfest").json()["uri"]
    question = bluesky_api.app.citizen_reply(copy, "Wann?")
    bluesky_api.app.citizen_reply(question["uri"], "Ab 14 Uhr.", handle="jonas-richter.bsky.social")
    bluesky_api.app.citizen_reply(copy, "Blöd.", handle="troll.bsky.social")
    bluesky_api.app.block("troll.bsky.social")

    thread = xrpc(
        bluesky_api, "app.bsky.feed.getPostThread", token=session["accessJwt"], uri=copy, depth=1
    ).json()["thread"]

    assert thread["$type"] == "app.bsky.feed.defs#threadViewPost"
    assert thread["post"]["replyCount"] == 2
    first, blocked = thread["replies"]
    assert first["post"]["record"]["reply"]["parent"]["uri"] == copy
    assert first["post"]["replyCount"] == 1
    assert "replies" not in first
    assert blocked["$type"] == "app.bsky.feed.defs#blockedPost"


def test_get_posts_takes_repeated_uris_and_leaves_out_deleted_ones(bluesky_api):
    session = log_in(bluesky_api).json()
    copy = create(bluesky_api, session, "Stadtfest").json()["uri"]
    kept = bluesky_api.app.citizen_reply(copy, "Schön!")
    gone = bluesky_api.app.citizen_reply(copy, "Hoppla")
    bluesky_api.app.delete_reply(gone["uri"])

    posts = xrpc(
        bluesky_api,
        "app.bsky.feed.getPosts",
        token=session["accessJwt"],
        uris=[kept["uri"], gone["uri"], copy],
    ).json()["posts"]

    assert [post["uri"] for post in posts] == [kept["uri"], copy]


def test_a_spent_budget_answers_429_with_the_pdss_rate_limit_headers(bluesky_api):
    session = log_in(bluesky_api).json()
    bluesky_api.app.set_rate_limit(1)
    xrpc(bluesky_api, "com.atproto.server.getSession", token=session["accessJwt"])

    response = xrpc(bluesky_api, "com.atproto.server.getSession", token=session["accessJwt"])

    assert response.status_code == 429
    assert response.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert response.headers["RateLimit-Limit"] == "1"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 0 < int(response.headers["RateLimit-Reset"]) - time.time() <= 300


def test_thirty_one_logins_in_five_minutes_are_too_many(bluesky_api):
    statuses = [log_in(bluesky_api).status_code for _attempt in range(31)]

    assert statuses == [200] * 30 + [429]
