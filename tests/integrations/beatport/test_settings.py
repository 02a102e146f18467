"""Beatport settings: the three issue names turn it on; token keys, rotation, production's refusal."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from service import beatport
from service.config import load_config
from service.integrations.beatport import Tokens

PARTNER = {
    "BEATPORT_CLIENT_ID": "id",
    "BEATPORT_CLIENT_SECRET": "secret",
    "BEATPORT_REDIRECT_URI": "https://aidjsets.example.com/beatport/callback",
}
TOKENS = Tokens("access-123", "refresh-456", 2_000_000_000.0, "user:dj")


def test_the_three_partner_settings_turn_the_integration_on() -> None:
    assert not beatport.configured(load_config(environ={}))
    assert not beatport.configured(load_config(environ={"BEATPORT_CLIENT_ID": "id"}))
    assert beatport.configured(load_config(environ=PARTNER))


def test_outside_production_a_key_is_derived_from_the_secret_key() -> None:
    config = load_config(environ={**PARTNER, "FLASK_SECRET_KEY": "s" * 32})
    stored = beatport.encrypt_tokens(config, TOKENS)
    assert "access-123" not in stored and "refresh-456" not in stored
    assert beatport.decrypt_tokens(config, stored) == (TOKENS, False)
    other = load_config(environ={**PARTNER, "FLASK_SECRET_KEY": "t" * 32})
    with pytest.raises(InvalidToken):
        beatport.decrypt_tokens(other, stored)


def test_rotation_reads_old_tokens_and_reports_them_for_re_encryption() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = beatport.encrypt_tokens(load_config(environ={"BEATPORT_TOKEN_KEYS": old}), TOKENS)
    rotated = load_config(environ={"BEATPORT_TOKEN_KEYS": f"{new}, {old}"})
    assert beatport.decrypt_tokens(rotated, stored) == (TOKENS, True)
    again = beatport.encrypt_tokens(rotated, TOKENS)
    assert (
        beatport.decrypt_tokens(load_config(environ={"BEATPORT_TOKEN_KEYS": new}), again)[0]
        == TOKENS
    )


def test_production_refuses_beatport_without_a_token_key() -> None:
    production = {
        "AIDJ_ENV": "production",
        "DIRECTUS_SERVICE_TOKEN": "t",
        "HOOK_SECRET": "h",
        "FLASK_SECRET_KEY": "k",
    }
    load_config(environ=production)  # Beatport off: fine
    with pytest.raises(RuntimeError, match="BEATPORT_TOKEN_KEYS"):
        load_config(environ={**production, **PARTNER})
    key = Fernet.generate_key().decode()
    config = load_config(environ={**production, **PARTNER, "BEATPORT_TOKEN_KEYS": key})
    assert beatport.configured(config)
