"""Where each piece of the local stack lives and how it is configured, for one environment.

``dev`` is what ``make run`` starts (SQLite unless ``AIDJ_DB=postgres``), ``test`` is the isolated
stack the test suite builds (PostgreSQL when reachable), ``production`` takes everything from the
environment and refuses to start without its secrets.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DIRECTUS_DIR = REPO_ROOT / "directus"
#: The data the service reads at run time ships inside the package (``service/data``).
DATA_DIR = Path(str(files("service.data")))
SNAPSHOT_FILE = DATA_DIR / "schema" / "snapshot.yaml"
ACCESS_FILE = DATA_DIR / "schema" / "access.yaml"
EXTENSIONS_DIR = REPO_ROOT / "extensions"
#: gunicorn's settings for the site, as a module path (``gunicorn --config``).
GUNICORN_CONFIG = "python:service.web.gunicorn_conf"

# Secrets a production stack must be given; dev and test generate their own.
REQUIRED_SECRETS = (
    "DIRECTUS_SECRET",
    "DIRECTUS_ADMIN_PASSWORD",
    "DIRECTUS_SERVICE_TOKEN",
    "HOOK_SECRET",
    "FLASK_SECRET_KEY",
)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_reachable(host: str, port: int) -> bool:
    """True when something accepts connections on the PostgreSQL address."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


#: Directus settings every environment shares: the local stack writes them into its config file and
#: ``docker-compose.yml`` must carry the same values (a test compares the two).
DIRECTUS_POLICY: dict[str, str] = {
    "EXTENSIONS_AUTO_RELOAD": "false",
    "EMAIL_TRANSPORT": "smtp",
    # Activity and revisions keep copies of personal data: keep them no longer than the 30 days the
    # privacy policy allows after deletion.
    "RETENTION_ENABLED": "true",
    "ACTIVITY_RETENTION": "30d",
    "REVISIONS_RETENTION": "30d",
    # Directus's own limit per address: generous, because the service's jobs and site share one
    # address; the public is limited more tightly by the proxy in front (deploy/nginx.conf).
    "RATE_LIMITER_ENABLED": "true",
    "RATE_LIMITER_POINTS": "200",
    "RATE_LIMITER_DURATION": "1",
    # Distinct prefixes, or the two limiters share Redis keys.
    "RATE_LIMITER_KEY_PREFIX": "aidj-rl",
    "RATE_LIMITER_REGISTRATION_KEY_PREFIX": "aidj-rl-reg",
    "WEBSOCKETS_ENABLED": "false",
}


def guarded_roles() -> str:
    """The roles whose accounts log in only through the service (extension aidj-guard)."""
    from service.stack.access import role_id  # the access module reads this one's paths

    return role_id("DJ")


def privacy_roles() -> str:
    """The roles that may erase Directus's own copies of a DJ's data (extension aidj-privacy)."""
    from service.stack.access import role_id

    return role_id("Service")


@dataclass(frozen=True)
class Database:
    """Where Directus keeps its data."""

    client: str  # "sqlite3" or "pg"
    filename: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    name: str = "aidjsets"
    user: str = "postgres"
    password: str = ""

    def directus_env(self) -> dict[str, str]:
        """The DB_* variables Directus reads."""
        if self.client == "sqlite3":
            return {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(self.filename)}
        env = {
            "DB_CLIENT": "pg",
            "DB_HOST": self.host,
            "DB_PORT": str(self.port),
            "DB_DATABASE": self.name,
            "DB_USER": self.user,
        }
        if self.password:
            env["DB_PASSWORD"] = self.password
        return env


@dataclass(frozen=True)
class Storage:
    """Where Directus keeps uploaded files: a local folder (the default) or an S3 bucket.

    With several Directus instances every one must see every file, so production with more than one
    instance uses S3 (or any S3-compatible store); the service only ever reads files through
    Directus's assets, never from a disk path.
    """

    kind: str = "local"  # "local" or "s3"
    bucket: str = ""
    region: str = "us-east-1"
    endpoint: str = ""  # an S3-compatible server's URL; empty for AWS itself
    access_key_id: str = ""
    secret_access_key: str = ""

    def directus_env(self, local_root: Path) -> dict[str, str]:
        """The STORAGE_* variables Directus reads."""
        if self.kind == "local":
            return {"STORAGE_LOCATIONS": "local", "STORAGE_LOCAL_ROOT": str(local_root)}
        env = {
            "STORAGE_LOCATIONS": "s3",
            "STORAGE_S3_DRIVER": "s3",
            "STORAGE_S3_BUCKET": self.bucket,
            "STORAGE_S3_REGION": self.region,
            "STORAGE_S3_KEY": self.access_key_id,
            "STORAGE_S3_SECRET": self.secret_access_key,
        }
        if self.endpoint:
            env["STORAGE_S3_ENDPOINT"] = self.endpoint
            env["STORAGE_S3_FORCE_PATH_STYLE"] = (
                "true"  # S3-compatible servers rarely have DNS buckets
            )
        return env

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Storage:
        """``AIDJ_STORAGE`` (local or s3) and the ``S3_*`` variables."""
        kind = environ.get("AIDJ_STORAGE", "local")
        if kind == "local":
            return cls()
        if kind != "s3":
            raise ValueError(f"AIDJ_STORAGE must be local or s3, not {kind!r}")
        missing = [
            name
            for name in ("S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
            if not environ.get(name)
        ]
        if missing:
            raise RuntimeError(f"AIDJ_STORAGE=s3 needs {', '.join(missing)} in the environment")
        return cls(
            kind="s3",
            bucket=environ["S3_BUCKET"],
            region=environ.get("S3_REGION", "us-east-1"),
            endpoint=environ.get("S3_ENDPOINT", ""),
            access_key_id=environ["S3_ACCESS_KEY_ID"],
            secret_access_key=environ["S3_SECRET_ACCESS_KEY"],
        )


@dataclass(frozen=True)
class StackSettings:
    """Everything one environment's stack needs to know; built by :func:`load_settings`."""

    env: str
    var_dir: Path
    database: Database
    directus_port: int
    web_port: int
    redis_url: str
    smtp_host: str
    smtp_port: int
    secret: str
    admin_email: str
    admin_password: str
    admin_token: str
    service_token: str
    hook_secret: str
    flask_secret_key: str
    storage: Storage = field(default_factory=Storage)
    # Paddle's notification secret (PADDLE_WEBHOOK_SECRETS): generated locally so that signed test
    # events can be posted to a running stack; in production it comes from Paddle.
    paddle_webhook_secret: str = ""
    extra_env: Mapping[str, str] = field(default_factory=dict)
    directus_url_override: str | None = None  # DIRECTUS_URL, e.g. http://directus:8055 in compose

    @property
    def directus_url(self) -> str:
        """Where Directus answers."""
        return self.directus_url_override or f"http://127.0.0.1:{self.directus_port}"

    @property
    def site_url(self) -> str:
        """Where the Flask site answers; Directus mails links back to it."""
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def env_file(self) -> Path:
        """The generated Directus config file (``CONFIG_PATH``)."""
        return self.var_dir / "directus.env"

    @property
    def uploads_dir(self) -> Path:
        """Directus local file storage."""
        return self.var_dir / "uploads"

    def directus_env(self) -> dict[str, str]:
        """Every variable Directus runs with in this environment."""
        env = {
            "HOST": "127.0.0.1",
            "PORT": str(self.directus_port),
            "PUBLIC_URL": self.directus_url,
            **self.database.directus_env(),
            "SECRET": self.secret,
            "ADMIN_EMAIL": self.admin_email,
            "ADMIN_PASSWORD": self.admin_password,
            "ADMIN_TOKEN": self.admin_token,
            "LOG_LEVEL": "warn",
            "LOG_STYLE": "raw",
            **self.storage.directus_env(self.uploads_dir),
            "EXTENSIONS_PATH": str(EXTENSIONS_DIR),
            **DIRECTUS_POLICY,
            "EMAIL_FROM": "no-reply@aidjsets.example.com",
            "EMAIL_SMTP_HOST": self.smtp_host,
            "EMAIL_SMTP_PORT": str(self.smtp_port),
            "EMAIL_SMTP_IGNORE_TLS": "true",
            "EMAIL_VERIFY_SETUP": "false",
            "PASSWORD_RESET_URL_ALLOW_LIST": f"{self.site_url}/reset-password",
            "SERVICE_URL": self.site_url,
            "HOOK_SECRET": self.hook_secret,
            "AIDJ_GUARDED_ROLES": guarded_roles(),
            "AIDJ_PRIVACY_ROLES": privacy_roles(),
            "RATE_LIMITER_STORE": "memory",  # one Directus per local stack
        }
        env.update(self.extra_env)
        return env

    def service_env(self) -> dict[str, str]:
        """Variables the Flask app and RQ workers run with."""
        return {
            "AIDJ_ENV": self.env,
            "DIRECTUS_URL": self.directus_url,
            "DIRECTUS_SERVICE_TOKEN": self.service_token,
            "REDIS_URL": self.redis_url,
            "HOOK_SECRET": self.hook_secret,
            "FLASK_SECRET_KEY": self.flask_secret_key,
            "SITE_URL": self.site_url,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
            "MAIL_CATCHER_DIR": str(self.var_dir / "mail") if self.env == "dev" else "",
            "PADDLE_WEBHOOK_SECRETS": self.paddle_webhook_secret,
        }


def _generated_secrets(var_dir: Path, *, persist: bool) -> dict[str, str]:
    """Random secrets for a local stack, kept in ``var/<env>/secrets.json`` so restarts reuse them."""
    path = var_dir / "secrets.json"
    if persist and path.exists():
        values = json.loads(path.read_text())
        if "paddle_webhook_secret" not in values:  # a stack made before payments existed
            values["paddle_webhook_secret"] = "pdl_ntfset_local_" + secrets.token_urlsafe(24)
            path.write_text(json.dumps(values, indent=2))
        return values
    values = {
        "secret": secrets.token_urlsafe(32),
        "admin_password": secrets.token_urlsafe(12),
        "admin_token": secrets.token_urlsafe(24),
        "service_token": secrets.token_urlsafe(24),
        "hook_secret": secrets.token_urlsafe(32),
        "flask_secret_key": secrets.token_urlsafe(32),
        "paddle_webhook_secret": "pdl_ntfset_local_" + secrets.token_urlsafe(24),
    }
    if persist:
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))
        path.chmod(0o600)
    return values


def load_settings(
    env: str = "dev", environ: Mapping[str, str] | None = None, **overrides: object
) -> StackSettings:
    """Defaults for ``env``, then the environment, then ``overrides``."""
    environ = os.environ if environ is None else environ
    var_dir = Path(environ.get("AIDJ_VAR_DIR", REPO_ROOT / "var" / env))
    if env == "production":
        missing = [name for name in REQUIRED_SECRETS if not environ.get(name)]
        if missing:
            raise RuntimeError(
                f"production needs these secrets in the environment: {', '.join(missing)}"
            )
        generated = {
            "secret": environ["DIRECTUS_SECRET"],
            "admin_password": environ["DIRECTUS_ADMIN_PASSWORD"],
            "admin_token": environ.get("DIRECTUS_ADMIN_TOKEN", ""),
            "service_token": environ["DIRECTUS_SERVICE_TOKEN"],
            "hook_secret": environ["HOOK_SECRET"],
            "flask_secret_key": environ["FLASK_SECRET_KEY"],
            "paddle_webhook_secret": environ.get("PADDLE_WEBHOOK_SECRETS", ""),
        }
    else:
        generated = _generated_secrets(var_dir, persist=env == "dev")

    db_kind = environ.get("AIDJ_DB", "postgres" if env == "production" else "sqlite")
    if db_kind == "postgres":
        database = Database(
            client="pg",
            host=environ.get("PGHOST", "127.0.0.1"),
            port=int(environ.get("PGPORT", "5432")),
            name=environ.get("PGDATABASE", f"aidjsets_{env}"),
            user=environ.get("PGUSER", "postgres"),
            password=environ.get("PGPASSWORD", ""),
        )
    elif db_kind == "sqlite":
        database = Database(client="sqlite3", filename=var_dir / "directus.sqlite")
    else:
        raise ValueError(f"AIDJ_DB must be sqlite or postgres, not {db_kind!r}")

    settings = StackSettings(
        env=env,
        var_dir=var_dir,
        database=database,
        directus_port=int(environ.get("DIRECTUS_PORT", "8055")),
        web_port=int(environ.get("WEB_PORT", "5000")),
        redis_url=environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        smtp_host=environ.get("SMTP_HOST", "127.0.0.1"),
        smtp_port=int(environ.get("SMTP_PORT", "1025")),
        admin_email=environ.get("DIRECTUS_ADMIN_EMAIL", "admin@aidjsets.example.com"),
        directus_url_override=environ.get("DIRECTUS_URL"),
        storage=Storage.from_environ(environ),
        **generated,
    )
    return replace(settings, **overrides) if overrides else settings


def snapshot_version(snapshot: Path = SNAPSHOT_FILE) -> str:
    """The schema version the code expects: a short SHA-256 of the committed snapshot."""
    import hashlib

    return hashlib.sha256(snapshot.read_bytes()).hexdigest()[:16]
