"""The X stand-in speaks X's wire format: statuses, bodies, rate-limit headers, pagination, faults."""

import time

import pytest
import requests

from sandbox import x_api

TOKEN = x_api.DEFAULT_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def x():
    with x_api.start_in_thread() as running:
        yield running


def post(x, text, headers=AUTH, **body):
    return requests.post(f"{x.url}/2/tweets", json={"text": text, **body}, headers=headers, timeout=5)


def edit(x, previous_id, text):
    return post(x, text, edit_options={"previous_post_id": previous_id})


def get(x, path, headers=AUTH, **params):
    return requests.get(f"{x.url}{path}", params=params, headers=headers, timeout=5)


def my_id(x):
    return get(x, "/2/users/me").json()["data"]["id"]


def test_a_post_is_created_with_id_text_and_edit_history(x):
    response = post(x, "Die Lindenallee ist wieder frei.")

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["text"] == "Die Lindenallee ist wieder frei."
    assert data["id"].isdigit()
    assert data["edit_history_tweet_ids"] == [data["id"]]


def test_users_me_names_the_account_of_the_token(x):
    data = get(x, "/2/users/me").json()["data"]

    assert data["username"] == "musterstadt"
    assert data["name"] == "Stadt Musterstadt"
    assert data["id"].isdigit()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nobody-knows-me"}, {"Authorization": TOKEN}]
)
def test_a_missing_or_unknown_token_is_unauthorized_in_xs_problem_shape(x, headers):
    response = post(x, "Hallo", headers=headers)

    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    assert x.app.posts() == []


def test_a_revoked_token_is_unauthorized(x):
    x.app.revoke(TOKEN)

    assert get(x, "/2/users/me").status_code == 401


def test_every_response_carries_the_rate_limit_headers(x):
    before = int(time.time())
    responses = [
        post(x, "eins"),
        get(x, "/2/users/me"),
        get(x, "/2/users/me", headers={}),
        get(x, "/2/nowhere"),
    ]

    assert [r.status_code for r in responses] == [201, 200, 401, 404]
    for response in responses:
        assert response.headers["x-rate-limit-limit"] == "900"
        reset = int(response.headers["x-rate-limit-reset"])
        assert before + 15 * 60 - 1 <= reset <= int(time.time()) + 15 * 60
    assert [r.headers["x-rate-limit-remaining"] for r in responses[:2]] == ["899", "898"]


def test_an_exhausted_budget_is_429_without_retry_after_until_the_window_resets(x):
    x.app.set_rate_limit(2)
    assert get(x, "/2/users/me").status_code == 200
    assert get(x, "/2/users/me").status_code == 200

    refused = post(x, "drei")

    assert refused.status_code == 429
    assert refused.json()["title"] == "Too Many Requests"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert "Retry-After" not in refused.headers
    assert x.app.posts() == []
    x.app.advance(15 * 60)
    assert post(x, "drei").status_code == 201


def test_the_budget_is_per_token(x):
    x.app.add_account("other-token", "kulturamt")
    x.app.set_rate_limit(1)
    assert get(x, "/2/users/me").status_code == 200

    assert get(x, "/2/users/me", headers={"Authorization": "Bearer other-token"}).status_code == 200
    assert get(x, "/2/users/me").status_code == 429


def test_text_is_limited_to_280_weighted_characters(x):
    assert post(x, "a" * 280).status_code == 201
    assert post(x, "日" * 140).status_code == 201
    assert post(x, "b" * 256 + " https://www.musterstadt.de/" + "x" * 100).status_code == 201

    too_long = post(x, "c" * 281)
    cjk_too_long = post(x, "日" * 141)

    assert too_long.status_code == cjk_too_long.status_code == 403
    assert too_long.json() == {
        "title": "Forbidden",
        "detail": "You are not permitted to perform this action.",
        "type": "about:blank",
        "status": 403,
    }
    assert len(x.app.posts()) == 3


def test_empty_text_is_an_invalid_request(x):
    response = post(x, "")

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["errors"][0]["parameters"] == {"text": [""]}


def test_the_same_text_twice_is_refused_as_duplicate_content(x):
    post(x, "Heute Markttag")

    response = post(x, "Heute Markttag")

    assert response.status_code == 403
    assert "duplicate content" in response.json()["detail"]


def test_an_edit_gets_a_new_id_and_carries_the_history(x):
    original = post(x, "Museumsnacht ab 18 Uhr").json()["data"]

    response = edit(x, original["id"], "Museumsnacht ab 19 Uhr")

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"] != original["id"]
    assert data["text"] == "Museumsnacht ab 19 Uhr"
    assert data["edit_history_tweet_ids"] == [original["id"], data["id"]]
    timeline = get(x, f"/2/users/{my_id(x)}/tweets").json()["data"]
    assert [p["id"] for p in timeline] == [data["id"]]


def test_an_edit_after_the_hour_is_forbidden(x):
    original = post(x, "Sperrung bis Freitag").json()["data"]
    x.app.advance(60 * 60 + 1)

    response = edit(x, original["id"], "Sperrung bis Montag")

    assert response.status_code == 403
    assert response.json()["detail"] == "The time to edit this Tweet has run out."


def test_an_edit_within_the_hour_is_allowed(x):
    original = post(x, "Sperrung bis Freitag").json()["data"]
    x.app.advance(59 * 60)

    assert edit(x, original["id"], "Sperrung bis Montag").status_code == 201


def test_a_post_can_be_edited_five_times_and_no_more(x):
    latest = post(x, "Version 0").json()["data"]["id"]
    for number in range(1, 6):
        latest = edit(x, latest, f"Version {number}").json()["data"]["id"]

    response = edit(x, latest, "Version 6")

    assert response.status_code == 403
    assert "at most 5 times" in response.json()["detail"]
    controls = get(x, f"/2/tweets/{latest}", **{"tweet.fields": "edit_controls"}).json()["data"][
        "edit_controls"
    ]
    assert controls["edits_remaining"] == 0


def test_only_the_latest_version_can_be_edited(x):
    original = post(x, "Fassung A").json()["data"]["id"]
    edit(x, original, "Fassung B")

    assert edit(x, original, "Fassung C").status_code == 403


def test_a_lookup_reports_edit_controls_and_missing_posts_as_errors(x):
    created = post(x, "Nachschlagen").json()["data"]

    found = get(x, f"/2/tweets/{created['id']}", **{"tweet.fields": "edit_controls,created_at"}).json()
    missing = get(x, "/2/tweets/123")

    assert found["data"]["edit_controls"]["is_edit_eligible"] is True
    assert found["data"]["edit_controls"]["edits_remaining"] == 5
    assert found["data"]["edit_controls"]["editable_until"].endswith("Z")
    assert missing.status_code == 200
    assert missing.json()["errors"][0]["type"] == "https://api.twitter.com/2/problems/resource-not-found"


def test_deleting_a_post_deletes_its_whole_edit_chain(x):
    original = post(x, "Alt").json()["data"]["id"]
    edited = edit(x, original, "Neu").json()["data"]["id"]

    response = requests.delete(f"{x.url}/2/tweets/{original}", headers=AUTH, timeout=5)

    assert response.status_code == 200
    assert response.json() == {"data": {"deleted": True}}
    assert all(p["deleted"] for p in x.app.posts())
    assert "errors" in get(x, f"/2/tweets/{edited}").json()


def test_deleting_an_unknown_post_is_not_found(x):
    response = requests.delete(f"{x.url}/2/tweets/42", headers=AUTH, timeout=5)

    assert response.status_code == 404
    body = response.json()
    assert body["title"] == "Not Found Error"
    assert body["detail"] == "Could not find tweet with id: [42]."
    assert body["type"] == "https://api.twitter.com/2/problems/resource-not-found"


def test_the_users_posts_come_newest_first_in_pages(x):
    for number in range(12):
        post(x, f"Meldung {number}")
    path = f"/2/users/{my_id(x)}/tweets"

    first = get(x, path, max_results=5).json()
    second = get(x, path, max_results=5, pagination_token=first["meta"]["next_token"]).json()
    third = get(x, path, max_results=5, pagination_token=second["meta"]["next_token"]).json()

    texts = [p["text"] for page in (first, second, third) for p in page["data"]]
    assert texts == [f"Meldung {number}" for number in range(11, -1, -1)]
    assert [page["meta"]["result_count"] for page in (first, second, third)] == [5, 5, 2]
    assert "next_token" not in third["meta"]
    assert first["meta"]["newest_id"] == first["data"][0]["id"]


def test_an_account_without_posts_gets_meta_but_no_data(x):
    body = get(x, f"/2/users/{my_id(x)}/tweets").json()

    assert body == {"meta": {"result_count": 0}}


@pytest.mark.parametrize(
    "params", [{"max_results": "4"}, {"max_results": "101"}, {"pagination_token": "nonsense"}]
)
def test_bad_paging_parameters_are_invalid_requests(x, params):
    response = get(x, f"/2/users/{my_id(x)}/tweets", **params)

    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Request"


def test_recent_search_by_conversation_finds_the_replies(x):
    x.app.add_account("citizen-token", "anwohnerin", "Eine Anwohnerin")
    citizen = {"Authorization": "Bearer citizen-token"}
    root = post(x, "Baustelle Lindenallee: Fragen?").json()["data"]["id"]
    reply = post(x, "Wie lange noch?", headers=citizen, reply={"in_reply_to_tweet_id": root}).json()["data"]
    post(x, "Etwas anderes")

    body = get(
        x,
        "/2/tweets/search/recent",
        query=f"conversation_id:{root}",
        expansions="author_id",
        **{"tweet.fields": "author_id,conversation_id,created_at,in_reply_to_user_id"},
    ).json()

    assert [p["id"] for p in body["data"]] == [reply["id"]]
    found = body["data"][0]
    assert found["conversation_id"] == root
    assert found["in_reply_to_user_id"] == my_id(x)
    assert body["includes"]["users"][0]["username"] == "anwohnerin"


def test_recent_search_without_a_conversation_query_is_refused(x):
    assert get(x, "/2/tweets/search/recent", query="Lindenallee").status_code == 400


def test_faults_queued_through_the_control_endpoint_play_once_for_matching_requests(x):
    queued = requests.post(
        f"{x.url}/_sandbox/faults",
        json={"kind": "status", "status": 503, "method": "POST", "path": "/2/tweets"},
        timeout=5,
    )
    assert queued.status_code == 201

    assert get(x, "/2/users/me").status_code == 200
    failed = post(x, "eins")
    assert post(x, "zwei").status_code == 201

    assert failed.status_code == 503
    assert failed.json()["title"] == "Service Unavailable"
    assert "x-rate-limit-reset" in failed.headers
    assert [p["text"] for p in requests.get(f"{x.url}/_sandbox/posts", timeout=5).json()["posts"]] == ["zwei"]


def test_an_unknown_fault_kind_is_refused(x):
    response = requests.post(f"{x.url}/_sandbox/faults", json={"kind": "gremlins"}, timeout=5)

    assert response.status_code == 400


def test_reset_forgets_posts_and_faults(x):
    post(x, "vergessen")
    x.faults.error("*", "*", 500, times=3)

    assert requests.post(f"{x.url}/_sandbox/reset", timeout=5).status_code == 200

    assert x.app.posts() == []
    assert x.faults.pending() == []


def test_a_throttle_fault_sends_retry_after(x):
    x.faults.throttle("POST", "/2/tweets", retry_after=7)

    response = post(x, "gedrosselt")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_a_fault_for_several_requests_matches_by_path_pattern(x):
    x.faults.error("GET", "/2/users/*", 502, times=2)

    statuses = [get(x, "/2/users/me").status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


def test_latency_delays_the_answer(x):
    x.faults.latency("GET", "/2/users/me", 0.3)
    started = time.monotonic()

    assert get(x, "/2/users/me").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_timeout_before_handling_leaves_no_post(x):
    x.faults.timeout("POST", "/2/tweets", 2)

    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{x.url}/2/tweets", json={"text": "verloren"}, headers=AUTH, timeout=0.3)

    assert x.app.posts() == []


def test_a_timeout_after_handling_keeps_the_post(x):
    x.faults.timeout("POST", "/2/tweets", 2, after=True)

    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{x.url}/2/tweets", json={"text": "angekommen"}, headers=AUTH, timeout=0.3)

    assert [p["text"] for p in x.app.posts()] == ["angekommen"]


def test_a_dropped_connection_keeps_the_post_but_sends_no_answer(x):
    x.faults.drop("POST", "/2/tweets")

    with pytest.raises(requests.ConnectionError):
        post(x, "angenommen")

    assert [p["text"] for p in x.app.posts()] == ["angenommen"]


def test_accounts_tokens_and_the_budget_can_be_set_over_http(x):
    def control(name, body):
        return requests.post(f"{x.url}/_sandbox/{name}", json=body, timeout=5)

    assert control("accounts", {"token": "presse-token", "username": "presse"}).status_code == 201
    presse = {"Authorization": "Bearer presse-token"}
    assert get(x, "/2/users/me", headers=presse).json()["data"]["username"] == "presse"
    assert control("revoke", {"token": "presse-token"}).status_code == 200
    assert get(x, "/2/users/me", headers=presse).status_code == 401
    assert control("rate-limit", {"limit": 1}).status_code == 200
    assert get(x, "/2/users/me").status_code == 200
    assert get(x, "/2/users/me").status_code == 429
    assert control("accounts", {"token": "ohne-namen"}).status_code == 400


def test_a_backdated_post_can_no_longer_be_edited(x):
    original = post(x, "Von gestern").json()["data"]["id"]

    requests.post(f"{x.url}/_sandbox/backdate", json={"id": original, "seconds": 2 * 60 * 60}, timeout=5)

    assert edit(x, original, "Von heute").status_code == 403
