"""Configuration is written once: production (compose) and the local stack agree, and every setting
the service reads is documented in ``.env.example``."""

from __future__ import annotations

import re

import pytest
import yaml

from service.config import DEFAULTS, ENV_ALIASES
from service.stack.settings import DIRECTUS_POLICY, REPO_ROOT, guarded_roles, load_settings


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_compose_runs_directus_with_the_settings_every_environment_shares() -> None:
    environment = {k: str(v) for k, v in _compose()["services"]["directus"]["environment"].items()}

    assert {k: environment.get(k) for k in DIRECTUS_POLICY} == DIRECTUS_POLICY


def test_the_local_stack_runs_directus_with_the_same_settings(tmp_path) -> None:
    env = load_settings("test", environ={"AIDJ_VAR_DIR": str(tmp_path)}).directus_env()

    assert {k: env.get(k) for k in DIRECTUS_POLICY} == DIRECTUS_POLICY


def _documented() -> set[str]:
    text = (REPO_ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_service_setting_is_documented_in_env_example() -> None:
    names = {name for name in DEFAULTS if name not in ENV_ALIASES.values()} | set(ENV_ALIASES)

    assert sorted(names - _documented()) == []


def test_every_ai_setting_is_documented_in_env_example() -> None:
    source = (REPO_ROOT / "service" / "ai" / "providers.py").read_text()
    names = set(re.findall(r'\b(?:text|number)\("([A-Z][A-Z0-9_]+)"', source))

    assert "GEMINI_MODEL" in names
    assert sorted(names - _documented()) == []


def test_compose_guards_the_dj_role_of_the_access_file() -> None:
    environment = _compose()["services"]["directus"]["environment"]

    assert environment["AIDJ_GUARDED_ROLES"] == guarded_roles()


def test_only_the_proxy_faces_the_outside_in_compose() -> None:
    compose = _compose()
    services = compose["services"]
    assert compose["networks"]["internal"] == {"internal": True}
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    on_edge = {name for name, service in services.items() if "edge" in service.get("networks", [])}
    assert on_edge == {"proxy"}
    for name in ("directus", "postgres", "redis", "web"):
        assert "internal" in services[name]["networks"], name
    template = services["proxy"]["volumes"][0].split(":")[0]
    assert (REPO_ROOT / template).is_file()
    assert services["web"]["environment"]["TRUSTED_PROXY_HOPS"] == "1"


def test_files_go_to_s3_when_asked_and_stay_on_a_local_folder_by_default(tmp_path) -> None:
    local = load_settings("test", environ={"AIDJ_VAR_DIR": str(tmp_path)}).directus_env()
    s3 = load_settings(
        "test",
        environ={
            "AIDJ_VAR_DIR": str(tmp_path),
            "AIDJ_STORAGE": "s3",
            "S3_BUCKET": "sets",
            "S3_ENDPOINT": "http://minio:9000",
            "S3_ACCESS_KEY_ID": "key",
            "S3_SECRET_ACCESS_KEY": "secret",
        },
    ).directus_env()

    assert local["STORAGE_LOCATIONS"] == "local" and "STORAGE_S3_BUCKET" not in local
    assert s3["STORAGE_LOCATIONS"] == "s3" and s3["STORAGE_S3_DRIVER"] == "s3"
    assert (s3["STORAGE_S3_BUCKET"], s3["STORAGE_S3_KEY"], s3["STORAGE_S3_SECRET"]) == (
        "sets",
        "key",
        "secret",
    )
    assert s3["STORAGE_S3_ENDPOINT"] == "http://minio:9000"
    assert s3["STORAGE_S3_FORCE_PATH_STYLE"] == "true"


def test_s3_storage_without_its_bucket_or_keys_is_refused_at_start(tmp_path) -> None:

    with pytest.raises(RuntimeError, match="S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY"):
        load_settings("test", environ={"AIDJ_VAR_DIR": str(tmp_path), "AIDJ_STORAGE": "s3"})


def test_compose_passes_the_storage_choice_to_directus_and_the_backup() -> None:
    services = _compose()["services"]
    directus = services["directus"]["environment"]

    assert directus["STORAGE_LOCATIONS"] == "${AIDJ_STORAGE:-local}"
    assert directus["STORAGE_S3_BUCKET"] == "${S3_BUCKET:-}"
    assert services["backup"]["environment"]["AIDJ_STORAGE"] == "${AIDJ_STORAGE:-local}"
