"""An operator can tell whether the service is up and whether it is ready to serve."""

from __future__ import annotations

import pytest

from service.web.app import create_app


def test_healthz_answers_without_any_backend() -> None:
    app = create_app({"DIRECTUS_URL": "http://127.0.0.1:9", "REDIS_URL": "redis://127.0.0.1:9/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_says_what_is_missing() -> None:
    app = create_app({"DIRECTUS_URL": "http://127.0.0.1:9", "REDIS_URL": "redis://127.0.0.1:9/0"})
    app.extensions["directus"].max_attempts = 1
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["directus"].startswith("unreachable")
    assert response.json["checks"]["redis"].startswith("unreachable")


@pytest.mark.stack
def test_readyz_is_ready_against_the_real_stack(stack) -> None:
    app = create_app(
        stack.settings.service_env() | {"DIRECTUS_SERVICE_TOKEN": stack.settings.service_token}
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"] == {"directus": "ok", "redis": "ok", "schema": "ok"}


@pytest.mark.stack
def test_readyz_notices_a_schema_older_than_the_code(stack) -> None:
    app = create_app(stack.settings.service_env())
    stack.admin.update_singleton("app_settings", {"schema_version": "0000000000000000"})
    try:
        response = app.test_client().get("/readyz")
    finally:
        from service.stack.directus import record_schema_version

        record_schema_version(stack.admin)
    assert response.status_code == 503
    assert response.json["checks"]["schema"].startswith("expected")


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(RuntimeError, match="DIRECTUS_SERVICE_TOKEN"):
        create_app({"AIDJ_ENV": "production"})
