"""Apply roles, policies, permissions, users, settings and staff dashboards from ``access.yaml``.

Idempotent: each object has a pinned id; what matches is left alone, what differs is changed, what
is missing is created, and permissions on our policies that the file does not declare are removed.
With ``check=True`` nothing is written and the returned list says what would change.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service.integrations.directus import (
    DirectusAuthError,
    DirectusClient,
    DirectusForbidden,
    DirectusNotFound,
)
from service.stack.settings import ACCESS_FILE

log = logging.getLogger(__name__)

POLICY_FIELDS = ("name", "icon", "description", "admin_access", "app_access", "enforce_tfa")
ROLE_FIELDS = ("name", "icon", "description")
USER_FIELDS = ("email", "first_name", "role")


@dataclass
class AccessPlan:
    """What an apply did (or, in check mode, would do)."""

    changes: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """Record one change."""
        log.info("access: %s", message)
        self.changes.append(message)


def load_access(path: Path = ACCESS_FILE) -> dict[str, Any]:
    """The declared access configuration."""
    return yaml.safe_load(path.read_text())


@functools.cache
def role_id(name: str) -> str:
    """The pinned UUID of the role called ``name`` ("DJ", "Staff", "Service") in the access file."""
    for role in load_access()["roles"]:
        if role["name"] == name:
            return str(role["id"])
    raise KeyError(f"no role named {name!r} in {ACCESS_FILE.name}")


def _get_or_none(client: DirectusClient, path: str) -> dict[str, Any] | None:
    try:
        return client.call("GET", path)
    except (DirectusNotFound, DirectusForbidden):
        # Directus answers 403 for a missing item so as not to reveal what exists.
        return None


def _differences(
    current: Mapping[str, Any], wanted: Mapping[str, Any], names: tuple[str, ...]
) -> dict[str, Any]:
    return {
        name: wanted.get(name)
        for name in names
        if name in wanted and current.get(name) != wanted.get(name)
    }


def apply_access(
    client: DirectusClient,
    secrets: Mapping[str, str],
    *,
    spec: Mapping[str, Any] | None = None,
    check: bool = False,
) -> AccessPlan:
    """Bring Directus's access configuration to the declared one; ``client`` must be an admin."""
    spec = spec or load_access()
    plan = AccessPlan()

    for policy in spec.get("policies", []):
        _apply_policy(client, policy, plan, check)
    for role in spec.get("roles", []):
        _apply_role(client, role, plan, check)
    for user in spec.get("users", []):
        _apply_user(client, user, secrets, plan, check)
    _apply_settings(client, spec.get("settings", {}), plan, check)
    for collection, defaults in spec.get("singletons", {}).items():
        _apply_singleton(client, collection, defaults, plan, check)
    for dashboard in spec.get("insights", []):
        _apply_dashboard(client, dashboard, plan, check)
    for preset in spec.get("presets", []):
        _apply_preset(client, preset, plan, check)
    return plan


PRESET_FIELDS = (
    "bookmark",
    "collection",
    "role",
    "layout",
    "layout_query",
    "filter",
    "icon",
    "color",
)


def _apply_preset(
    client: DirectusClient, preset: Mapping[str, Any], plan: AccessPlan, check: bool
) -> None:
    """A Studio layout or bookmark for a role; found by collection, role and bookmark name (presets
    have no pinned ids: Directus numbers them)."""
    wanted = {name: preset.get(name) for name in PRESET_FIELDS}
    params = {
        "filter[collection][_eq]": wanted["collection"],
        "filter[role][_eq]": wanted["role"],
        "fields": ",".join(("id", *PRESET_FIELDS)),
    }
    if wanted["bookmark"]:
        params["filter[bookmark][_eq]"] = wanted["bookmark"]
    else:
        params["filter[bookmark][_null]"] = "true"
    found = client.call("GET", "/presets", params=params) or []
    label = wanted["bookmark"] or f"{wanted['collection']} layout"
    if not found:
        plan.note(f"create preset {label}")
        if not check:
            client.call("POST", "/presets", json=wanted)
    elif changed := _differences(found[0], wanted, PRESET_FIELDS):
        plan.note(f"update preset {label}: {', '.join(sorted(changed))}")
        if not check:
            client.call("PATCH", f"/presets/{found[0]['id']}", json=changed)


def _upsert(
    client: DirectusClient,
    route: str,
    declared: Mapping[str, Any],
    fields: tuple[str, ...],
    plan: AccessPlan,
    check: bool,
) -> dict[str, Any] | None:
    """Create or update a pinned-id policy or role; returns it as it was before (None if new)."""
    kind = {"policies": "policy", "roles": "role"}[route]
    wanted = {name: declared.get(name) for name in fields}
    current = _get_or_none(client, f"/{route}/{declared['id']}")
    if current is None:
        plan.note(f"create {kind} {declared['name']}")
        if not check:
            client.call("POST", f"/{route}", json={"id": declared["id"], **wanted})
    elif changed := _differences(current, wanted, fields):
        plan.note(f"update {kind} {declared['name']}: {', '.join(sorted(changed))}")
        if not check:
            client.call("PATCH", f"/{route}/{declared['id']}", json=changed)
    return current


def _apply_policy(
    client: DirectusClient, policy: Mapping[str, Any], plan: AccessPlan, check: bool
) -> None:
    pid = policy["id"]
    current = _upsert(client, "policies", policy, POLICY_FIELDS, plan, check)

    declared = {
        (collection, action)
        for collection, actions in (policy.get("permissions") or {}).items()
        for action in actions
    }
    existing = (
        []
        if current is None
        else client.call("GET", "/permissions", params={"filter[policy][_eq]": pid, "limit": "-1"})
    )
    have: dict[tuple[str, str], dict[str, Any]] = {}
    for row in existing:
        key = (row["collection"], row["action"])
        if key not in declared or key in have:
            plan.note(f"remove {row['action']} on {row['collection']} from policy {policy['name']}")
            if not check:
                client.call("DELETE", f"/permissions/{row['id']}")
            continue
        have[key] = row
        if (
            row.get("fields") != ["*"]
            or row.get("permissions")
            or row.get("validation")
            or row.get("presets")
        ):
            plan.note(f"reset {row['action']} on {row['collection']} for policy {policy['name']}")
            if not check:
                client.call(
                    "PATCH",
                    f"/permissions/{row['id']}",
                    json={
                        "fields": ["*"],
                        "permissions": None,
                        "validation": None,
                        "presets": None,
                    },
                )
    missing = sorted(declared - have.keys())
    if missing:
        plan.note(
            f"grant {len(missing)} permissions to policy {policy['name']}: "
            + ", ".join(f"{a} {c}" for c, a in missing)
        )
        if not check:
            client.call(
                "POST",
                "/permissions",
                json=[
                    {
                        "policy": pid,
                        "collection": c,
                        "action": a,
                        "fields": ["*"],
                        "permissions": None,
                    }
                    for c, a in missing
                ],
            )


def _apply_role(
    client: DirectusClient, role: Mapping[str, Any], plan: AccessPlan, check: bool
) -> None:
    rid = role["id"]
    current = _upsert(client, "roles", role, ROLE_FIELDS, plan, check)

    links = (
        []
        if current is None
        else client.call("GET", "/access", params={"filter[role][_eq]": rid, "limit": "-1"})
    )
    linked = {link["policy"]: link for link in links}
    for pid in role.get("policies", []):
        if pid not in linked:
            plan.note(f"attach policy {pid} to role {role['name']}")
            if not check:
                client.call("POST", "/access", json={"role": rid, "policy": pid})
    for pid, link in linked.items():
        if pid not in role.get("policies", []):
            plan.note(f"detach policy {pid} from role {role['name']}")
            if not check:
                client.call("DELETE", f"/access/{link['id']}")


def _token_works(client: DirectusClient, token: str, user_id: str) -> bool:
    try:
        return client.with_token(token).me(fields=["id"])["id"] == user_id
    except (DirectusAuthError, DirectusForbidden):
        return False


def _apply_user(
    client: DirectusClient,
    user: Mapping[str, Any],
    secrets: Mapping[str, str],
    plan: AccessPlan,
    check: bool,
) -> None:
    uid = user["id"]
    token = secrets[user["token_from"]] if user.get("token_from") else None
    wanted = {name: user.get(name) for name in USER_FIELDS}
    current = _get_or_none(client, f"/users/{uid}")
    if current is None:
        plan.note(f"create user {user['email']}")
        if not check:
            client.call(
                "POST", "/users", json={"id": uid, **wanted, "status": "active", "token": token}
            )
        return
    changed = _differences(current, wanted, USER_FIELDS)
    if current.get("status") != "active":
        changed["status"] = "active"
    # Directus masks stored tokens, so ask Directus whether the configured one opens this account.
    if token and not _token_works(client, token, uid):
        changed["token"] = token
    if changed:
        plan.note(f"update user {user['email']}: {', '.join(sorted(changed))}")
        if not check:
            client.call("PATCH", f"/users/{uid}", json=changed)


DASHBOARD_FIELDS = ("name", "icon", "note")
PANEL_FIELDS = ("name", "icon", "note", "type", "position_x", "position_y", "width", "height",
                "show_header", "options")  # fmt: skip


def _apply_dashboard(
    client: DirectusClient, dashboard: Mapping[str, Any], plan: AccessPlan, check: bool
) -> None:
    """A staff Insights dashboard and its panels, with pinned ids; panels not declared are removed."""
    did = dashboard["id"]
    wanted = {name: dashboard.get(name) for name in DASHBOARD_FIELDS}
    current = _get_or_none(client, f"/dashboards/{did}")
    if current is None:
        plan.note(f"create dashboard {dashboard['name']}")
        if not check:
            client.call("POST", "/dashboards", json={"id": did, **wanted})
    elif changed := _differences(current, wanted, DASHBOARD_FIELDS):
        plan.note(f"update dashboard {dashboard['name']}: {', '.join(sorted(changed))}")
        if not check:
            client.call("PATCH", f"/dashboards/{did}", json=changed)
    declared = {panel["id"] for panel in dashboard.get("panels", [])}
    for panel in dashboard.get("panels", []):
        wanted_panel = {name: panel.get(name) for name in PANEL_FIELDS}
        existing = _get_or_none(client, f"/panels/{panel['id']}")
        if existing is None:
            plan.note(f"create panel {panel['name']}")
            if not check:
                client.call(
                    "POST", "/panels", json={"id": panel["id"], "dashboard": did, **wanted_panel}
                )
        elif changed := _differences(existing, wanted_panel, PANEL_FIELDS):
            plan.note(f"update panel {panel['name']}: {', '.join(sorted(changed))}")
            if not check:
                client.call("PATCH", f"/panels/{panel['id']}", json=changed)
    if current is not None:
        stale = client.call(
            "GET", "/panels", params={"filter[dashboard][_eq]": did, "fields": "id,name"}
        )
        for panel in stale or []:
            if panel["id"] not in declared:
                plan.note(f"delete panel {panel['name']}")
                if not check:
                    client.call("DELETE", f"/panels/{panel['id']}")


def _apply_settings(
    client: DirectusClient, wanted: Mapping[str, Any], plan: AccessPlan, check: bool
) -> None:
    current = client.call("GET", "/settings") or {}
    changed = _differences(current, wanted, tuple(wanted))
    if changed:
        plan.note(f"update settings: {', '.join(sorted(changed))}")
        if not check:
            client.call("PATCH", "/settings", json=changed)


def _apply_singleton(
    client: DirectusClient,
    collection: str,
    defaults: Mapping[str, Any],
    plan: AccessPlan,
    check: bool,
) -> None:
    # Only created when missing: staff own the values afterwards.
    current = client.call("GET", f"/items/{collection}")
    if not current or current.get("id") is None:
        plan.note(f"create {collection} with defaults")
        if not check:
            client.update_singleton(collection, defaults)
