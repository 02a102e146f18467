"""The Beatport client against the fake v4 server: paths, pages, tokens, retries, cache and pace."""

from __future__ import annotations

import threading
import time

import pytest

from service.integrations.beatport import (
    BeatportAuthError,
    BeatportClient,
    BeatportInvalid,
    BeatportNotConfigured,
    BeatportNotFound,
    BeatportUnavailable,
    Tokens,
    pkce_pair,
    with_slash,
)
from service.integrations.beatport.throttle import TokenBucket


def test_paths_get_their_trailing_slash() -> None:
    assert with_slash("/catalog/tracks") == "/catalog/tracks/"
    assert with_slash("/catalog/tracks/?isrc=X") == "/catalog/tracks/?isrc=X"
    assert with_slash("/catalog/search?q=a") == "/catalog/search/?q=a"


def test_the_fake_redirects_a_path_without_slash_and_the_client_never_sends_one(
    fake, make_client
) -> None:
    client = make_client()
    assert client.search_tracks("fisher losing it")[0].id in (1, 2)
    assert all(path.endswith("/") for _, path in fake.seen)
    raw = client.session.get(fake.url + "/v4/catalog/search", allow_redirects=False)
    assert raw.status_code == 301 and raw.headers["Location"].endswith("/v4/catalog/search/")


def test_search_parses_the_tracks_answer(make_client) -> None:
    tracks = make_client().search_tracks("Losing It FISHER")
    first = next(t for t in tracks if t.id == 1)
    assert first.artists == ("FISHER",)
    assert first.mix_name == "Original Mix"
    assert first.key == "8A" and first.bpm == 124.0
    assert first.label == "Fake Records" and first.genre == "Tech House"
    assert first.duration_s == 370.0


def test_a_list_is_followed_through_next_until_null(fake, make_client) -> None:
    tracks = make_client().tracks_by_isrc("FILLER00001")  # 23 tracks, 25 per page → 1 page
    assert len(tracks) == 23
    client = make_client(cache_ttl_s=0)
    everything = list(client.paginate("/catalog/tracks/", {"per_page": 10}))
    assert len(everything) == 25
    assert fake.count("GET", "/v4/catalog/tracks/") >= 3


def test_answers_are_cached_in_redis_for_their_ttl(fake, make_client, connection) -> None:
    client = make_client(cache_ttl_s=60)
    client.search_tracks("fisher")
    client.search_tracks("fisher")
    assert fake.count("GET", "/v4/catalog/search/") == 1
    keys = list(connection.scan_iter("aidj:beatport:cache:*"))
    assert keys and 0 < connection.ttl(keys[0]) <= 60
    make_client(cache_ttl_s=0).search_tracks("fisher")
    assert fake.count("GET", "/v4/catalog/search/") == 2


def test_an_expired_token_is_refreshed_once_on_401_and_the_new_tokens_are_handed_over(
    fake, make_client
) -> None:
    stored: list[Tokens] = []
    client = make_client(on_tokens=stored.append, cache_ttl_s=0)
    fake.expire_all_access_tokens()
    assert client.search_tracks("fisher")
    assert len(stored) == 1 and stored[0].access_token == client.tokens.access_token
    assert fake.count("POST", "/v4/auth/o/token/") == 1


def test_a_token_about_to_expire_is_refreshed_before_the_request(fake, make_client) -> None:
    tokens = Tokens.from_response(fake.issue_tokens(ttl_s=30))
    client = make_client(tokens=tokens, cache_ttl_s=0, refresh_margin_s=300)
    client.search_tracks("fisher")
    assert fake.seen[0] == ("POST", "/v4/auth/o/token/")
    assert fake.count("GET", "/v4/catalog/search/") == 1  # no 401 on the way


def test_a_revoked_grant_fails_with_an_auth_error_after_one_refresh(fake, make_client) -> None:
    client = make_client(cache_ttl_s=0)
    fake.expire_all_access_tokens()
    fake.refresh.clear()
    with pytest.raises(BeatportAuthError) as failure:
        client.search_tracks("fisher")
    assert failure.value.code == "invalid_grant"
    assert fake.count("POST", "/v4/auth/o/token/") == 1


def test_429_is_retried_after_retry_after(fake, make_client) -> None:
    fake.fail(429, retry_after="1", path="/v4/catalog/")
    started = time.monotonic()
    assert make_client(cache_ttl_s=0).search_tracks("fisher")
    assert time.monotonic() - started >= 0.9
    assert fake.count("GET", "/v4/catalog/search/") == 2


def test_a_500_is_retried_on_a_read_but_not_on_a_post(fake, make_client) -> None:
    client = make_client(cache_ttl_s=0)
    fake.fail(500, path="/v4/catalog/")
    assert client.search_tracks("fisher")
    assert fake.count("GET", "/v4/catalog/search/") == 2
    fake.fail(500, path="/v4/my/")
    with pytest.raises(BeatportUnavailable):
        client.create_playlist("Friday")
    assert fake.count("POST", "/v4/my/playlists/") == 1 and not fake.playlists


def test_a_post_is_sent_again_after_429(fake, make_client) -> None:
    fake.fail(429, retry_after="0", path="/v4/my/")
    playlist = make_client().create_playlist("Friday")
    assert fake.playlists[playlist]["name"] == "Friday"
    assert fake.count("POST", "/v4/my/playlists/") == 2


def test_persistent_unavailability_gives_up_with_unavailable(fake, make_client) -> None:
    fake.fail(500, path="/v4/catalog/", times=10)
    with pytest.raises(BeatportUnavailable) as failure:
        make_client(cache_ttl_s=0, max_attempts=3).search_tracks("x")
    assert failure.value.status == 500 and fake.count("GET", "/v4/catalog/search/") == 3


def test_4xx_are_clear_errors_carrying_beatports_detail(fake, make_client) -> None:
    client = make_client()
    with pytest.raises(BeatportNotFound, match="Not found"):
        client.track(999999)
    playlist = client.create_playlist("P")
    with pytest.raises(BeatportInvalid, match="Unknown track ids"):
        client.add_playlist_tracks(playlist, [424242])


def test_the_authorization_code_flow_with_pkce(fake, make_client) -> None:
    client = make_client(tokens=None)
    verifier, challenge = pkce_pair()
    url = client.authorize_url(redirect_uri="http://site/cb", state="s1", code_challenge=challenge)
    answer = client.session.get(url, allow_redirects=False)
    location = answer.headers["Location"]
    assert location.startswith("http://site/cb?") and "state=s1" in location
    code = location.split("code=")[1].split("&")[0]
    with pytest.raises(BeatportAuthError):  # a wrong verifier is refused
        client.exchange_code(code, code_verifier="x" * 50, redirect_uri="http://site/cb")
    answer = client.session.get(url, allow_redirects=False)
    code = answer.headers["Location"].split("code=")[1].split("&")[0]
    tokens = client.exchange_code(code, code_verifier=verifier, redirect_uri="http://site/cb")
    assert tokens.refresh_token and not tokens.expires_within(3600)
    client.revoke()
    assert tokens.refresh_token in fake.revoked and tokens.access_token in fake.revoked


def test_playlists_create_add_list_remove_rename(fake, make_client) -> None:
    client = make_client()
    pid = client.create_playlist("Set")
    client.add_playlist_tracks(pid, [2, 1])
    items = client.playlist_items(pid)
    assert [i["track"]["id"] for i in items] == [2, 1]
    client.remove_playlist_items(pid, [items[0]["id"]])
    client.rename_playlist(pid, "Set v2")
    assert fake.playlist_track_ids(pid) == [1] and fake.playlists[pid]["name"] == "Set v2"


def test_without_credentials_the_client_refuses_to_start() -> None:
    with pytest.raises(BeatportNotConfigured):
        BeatportClient("http://x/v4", client_id="", client_secret="")


def test_the_throttle_is_one_bucket_shared_across_clients(connection) -> None:
    """Four threads (as four workers would) share 5 requests/s with a burst of 2."""
    buckets = [
        TokenBucket(connection, "aidj:beatport:test-bucket", rate=5, burst=2) for _ in range(4)
    ]
    taken: list[float] = []
    started = time.monotonic()

    def work(bucket: TokenBucket) -> None:
        for _ in range(3):
            bucket.acquire()
            taken.append(time.monotonic() - started)

    threads = [threading.Thread(target=work, args=(b,)) for b in buckets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 12 requests: 2 at once, then 10 at 5/s → at least ~2 s in all.
    assert len(taken) == 12
    assert max(taken) >= 1.8
    assert sum(1 for t in taken if t < 0.5) <= 4
