"""When Directus does not answer, the site says so plainly instead of failing."""

from __future__ import annotations

import pytest

from service.web.app import create_app
from tests.site.conftest import SITE_REDIS_DB, csrf, new_client


@pytest.fixture
def cut_off():
    app = create_app(
        {
            "DIRECTUS_URL": "http://127.0.0.1:9",
            "REDIS_URL": f"redis://127.0.0.1:6379/{SITE_REDIS_DB}",
            "SECRET_KEY": "test-secret-key-for-cut-off",
        }
    )
    app.extensions["directus"].max_attempts = 1
    return new_client(app)


def test_a_legal_page_says_the_service_is_unavailable(cut_off) -> None:
    response = cut_off.get("/privacy")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.text


def test_log_in_says_it_is_busy_without_revealing_anything(cut_off) -> None:
    response = cut_off.post(
        "/login",
        data={"email": "dj@example.com", "password": "whatever-1", "csrf_token": csrf(cut_off)},
    )
    assert response.status_code == 503
    assert "busy right now" in response.text


def test_pages_without_directus_still_render(cut_off) -> None:
    assert cut_off.get("/cookies").status_code == 200
    assert cut_off.get("/no-such-page").status_code == 404
