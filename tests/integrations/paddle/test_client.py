"""The Paddle API client against the fake Paddle: portal sessions and Paddle's error shape."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli import main
from service.integrations.paddle import PaddleClient, paddle_client_from_config
from service.integrations.paddle.errors import PaddleForbidden
from tests.integrations.paddle.fake_paddle import FakePaddle


@pytest.fixture
def fake():
    server = FakePaddle()
    yield server
    server.close()


def test_a_portal_session_gives_the_overview_and_the_subscriptions_cancel_link(fake) -> None:
    client = paddle_client_from_config(
        {"PADDLE_API_KEY": fake.api_key, "PADDLE_API_URL": fake.url, "PADDLE_ENV": "sandbox",
         "HTTP_TIMEOUT_S": 5},
    )  # fmt: skip
    assert client is not None
    links = client.create_portal_session("ctm_01abc", ["sub_01xyz"])
    assert links.overview == f"{fake.url}/portal/ctm_01abc/overview"
    assert links.cancel_subscription == f"{fake.url}/portal/ctm_01abc/sub_01xyz/cancel"
    assert fake.portal_sessions == [{"customer_id": "ctm_01abc", "subscription_ids": ["sub_01xyz"]}]


def test_a_wrong_api_key_raises_paddles_own_words(fake) -> None:
    client = PaddleClient(fake.url, "pdl_wrong_key", max_attempts=1)
    with pytest.raises(PaddleForbidden) as raised:
        client.create_portal_session("ctm_01abc")
    assert raised.value.status == 403 and raised.value.code == "forbidden"
    assert "aren't permitted" in str(raised.value)


def test_without_an_api_key_there_is_no_client() -> None:
    assert paddle_client_from_config({"PADDLE_API_KEY": None, "HTTP_TIMEOUT_S": 5}) is None


def test_the_test_event_commands_refuse_production() -> None:
    result = CliRunner().invoke(
        main, ["paddle", "purchase", "--env", "production", "--email", "a@b.c", "--price", "pri_x"]
    )
    assert result.exit_code != 0 and "never to production" in result.output
