"""Accounts through Directus's own flows: sign up, verify, log in, log out, reset the password.

Messages never reveal whether an email has an account: sign-up, log-in failures and reset requests
answer the same way for known and unknown addresses. A person under 13 is turned away before anything
about them is sent anywhere or written down.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests

from service.integrations.directus import (
    DirectusAuthError,
    DirectusClient,
    DirectusError,
    DirectusUnavailable,
)
from service.web import security
from service.web.site import bp, directus, safe_next, site_url
from service.web.site.legal import current_document

log = logging.getLogger(__name__)

MINIMUM_AGE = 13
PASSWORD_MIN = 10
PASSWORD_MAX = 256
NAME_MAX = 80
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")

SIGNUP_SENT = (
    "Thanks! If this address can be used for a new account, a message with a verification link is "
    "on its way. Open it to activate your account, then log in."
)
LOGIN_FAILED = "That email and password do not match an active account. Check both and try again."
RESET_SENT = (
    "If an account uses this address, a message with a link to choose a new password is on its way."
)


def anonymous() -> DirectusClient:
    """Directus without a token, for the public auth flows."""
    return directus().with_token(None)


class RateLimited(TooManyRequests):
    """Too many attempts; carries the seconds to wait for the Retry-After header."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts. Wait a few minutes, then try again.")
        self.retry_after = retry_after


def _limit(action: str, email: str | None = None) -> None:
    subjects = [f"ip:{security.client_address()}"]
    if email:
        subjects.append(f"email:{email}")
    wait = security.check_rate_limits(action, subjects)
    if wait:
        log.info("rate limit on %s reached", action)
        raise RateLimited(wait)


def age_on(birth: dt.date, today: dt.date) -> int:
    """Completed years between ``birth`` and ``today``."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass
class SignupForm:
    """The sign-up form as submitted, with what is wrong with it."""

    display_name: str = ""
    email: str = ""
    password: str = ""
    date_of_birth: str = ""
    age_confirmed: bool = False
    accept_terms: bool = False
    marketing: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    under_age: bool = False

    @classmethod
    def from_request(cls) -> SignupForm:
        """Read and check the posted form."""
        form = request.form
        self = cls(
            display_name=form.get("display_name", "").strip(),
            email=form.get("email", "").strip().lower(),
            password=form.get("password", ""),
            date_of_birth=form.get("date_of_birth", "").strip(),
            age_confirmed=form.get("age_confirmed") == "yes",
            accept_terms=form.get("accept_terms") == "yes",
            marketing=form.get("marketing") == "yes",
        )
        self._check()
        return self

    def _check(self) -> None:
        if not self.display_name:
            self.errors["display_name"] = "Choose the name shown on your sets."
        elif len(self.display_name) > NAME_MAX:
            self.errors["display_name"] = f"Keep the name under {NAME_MAX} characters."
        if not _EMAIL.match(self.email) or len(self.email) > 254:
            self.errors["email"] = "Enter an email address such as dj@example.com."
        if not PASSWORD_MIN <= len(self.password) <= PASSWORD_MAX:
            self.errors["password"] = f"Use at least {PASSWORD_MIN} characters."
        if self.date_of_birth:
            try:
                birth = dt.date.fromisoformat(self.date_of_birth)
            except ValueError:
                self.errors["age"] = "Enter your date of birth as year-month-day."
            else:
                today = dt.datetime.now(dt.UTC).date()
                if birth > today or birth.year < 1900:
                    self.errors["age"] = "Enter your real date of birth."
                elif age_on(birth, today) < MINIMUM_AGE:
                    self.under_age = True
        elif not self.age_confirmed:
            self.errors["age"] = "Give your date of birth, or confirm that you are 13 or older."
        if not self.accept_terms:
            self.errors["accept_terms"] = "You need to accept the terms and the privacy policy."


@bp.get("/")
def home() -> Any:
    """The front page; a logged-in DJ goes straight to the dashboard."""
    if g.get("user"):
        return redirect(url_for("site.dashboard"))
    return render_template("home.html")


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    """Create an account through Directus registration, with the age check and consent records."""
    if request.method == "GET":
        if g.get("user"):
            return redirect(url_for("site.dashboard"))
        return render_template("accounts/signup.html", form=SignupForm())
    _limit("signup")
    form = SignupForm.from_request()
    if form.under_age:
        # Nothing about the person is kept: no Directus call, no log line with their details.
        return render_template("accounts/too_young.html"), 403
    if form.errors:
        form.password = ""
        return render_template("accounts/signup.html", form=form), 400
    try:
        anonymous().register(
            form.email,
            form.password,
            verification_url=site_url("/verify-email"),
            first_name=form.display_name,
        )
    except DirectusUnavailable:
        form.password = ""
        flash("Sign-up is busy right now. Wait a minute and try again.", "error")
        return render_template("accounts/signup.html", form=form), 503
    _complete_registration(form)
    return render_template("accounts/signup_sent.html", message=SIGNUP_SENT)


def _complete_registration(form: SignupForm) -> None:
    """Profile fields and consent records on the account Directus just created (not on an old one)."""
    client = directus()
    users = client.list_items(
        "directus_users",
        filter={"email": {"_eq": form.email}},
        fields=["id", "status"],
        limit=1,
    )
    if not users or users[0].get("status") != "unverified":
        return  # the address already had an active account: change nothing about it
    user_id = users[0]["id"]
    if client.count("consent_records", filter={"user": {"_eq": user_id}}):
        return  # a repeated sign-up before verification: the first one's records stand
    client.update_item(
        "directus_users",
        user_id,
        {
            "display_name": form.display_name,
            "age_confirmed": True,
            "marketing_opt_in": form.marketing,
        },
    )
    records = []
    for purpose, slug in (("terms", "terms"), ("privacy_policy", "privacy")):
        document = current_document(client, slug)
        records.append(
            {
                "user": user_id,
                "purpose": purpose,
                "legal_basis": "contract",
                "granted": True,
                "document": document["id"] if document else None,
                "document_version": document["version"] if document else None,
                "source": "signup",
            }
        )
    if form.marketing:
        records.append(
            {
                "user": user_id,
                "purpose": "marketing_email",
                "legal_basis": "consent",
                "granted": True,
                "source": "signup",
            }
        )
    client.create_items("consent_records", records)


@bp.get("/verify-email")
def verify_email() -> Any:
    """The link from the verification mail: activate the account, then ask the DJ to log in."""
    token = request.args.get("token", "")
    if not token:
        return render_template("accounts/verified.html", ok=False), 400
    try:
        anonymous().verify_email(token)
    except DirectusUnavailable:
        raise
    except DirectusError as exc:
        log.info("email verification refused: %s", exc.code)
        return render_template("accounts/verified.html", ok=False), 400
    return render_template("accounts/verified.html", ok=True)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with Directus; the session is kept on the server."""
    next_path = safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.get("user"):
            return redirect(next_path or url_for("site.dashboard"))
        return render_template("accounts/login.html", email="", next=next_path)
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    _limit("login", email)
    client = anonymous()
    try:
        tokens = client.login(email, password)
        user = client.with_token(tokens.access_token).me(fields=["id"])
    except DirectusAuthError:
        flash(LOGIN_FAILED, "error")
        return render_template("accounts/login.html", email=email, next=next_path), 401
    except DirectusUnavailable:
        flash("Log-in is busy right now. Wait a minute and try again.", "error")
        return render_template("accounts/login.html", email=email, next=next_path), 503
    except DirectusError as exc:
        log.info("log-in refused: %s", exc.code)
        flash(LOGIN_FAILED, "error")
        return render_template("accounts/login.html", email=email, next=next_path), 401
    security.start_session(str(user["id"]), tokens.refresh_token)
    return redirect(next_path or url_for("site.dashboard"))


@bp.post("/logout")
def logout() -> Any:
    """End the session here and in Directus."""
    record = security.end_session()
    if record and record.refresh_token:
        try:
            anonymous().logout(record.refresh_token)
        except DirectusError as exc:
            # Already expired or revoked there: the session is over either way.
            log.info("Directus log-out: %s", exc.code)
    flash("You are logged out.", "info")
    return redirect(url_for("site.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Any:
    """Ask Directus to mail a reset link; the answer is the same for every address."""
    if request.method == "GET":
        return render_template("accounts/forgot.html")
    email = request.form.get("email", "").strip().lower()
    _limit("reset", email)
    if _EMAIL.match(email):
        try:
            anonymous().request_password_reset(email, site_url("/reset-password"))
        except DirectusError as exc:
            log.warning("password reset request failed: %s", exc)
    return render_template("accounts/signup_sent.html", message=RESET_SENT)


def _token_email(token: str) -> str | None:
    """The email a Directus reset token was issued for (its claims; Directus has just verified it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    email = claims.get("email") if isinstance(claims, dict) else None
    return str(email).lower() if email else None


def _end_every_session(token: str) -> None:
    """After a reset, whoever was logged in with the old password is logged out everywhere."""
    email = _token_email(token)
    if not email:
        return
    users = directus().list_items(
        "directus_users", filter={"email": {"_eq": email}}, fields=["id"], limit=1
    )
    if not users:
        return
    for record in security.end_sessions_of(str(users[0]["id"])):
        if record.refresh_token:
            try:
                anonymous().logout(record.refresh_token)
            except DirectusError as exc:
                log.info("Directus log-out after a reset: %s", exc.code)


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password() -> Any:
    """The link from the reset mail: choose a new password."""
    token = request.values.get("token", "")
    if request.method == "GET":
        return render_template("accounts/reset.html", token=token, error=None)
    password = request.form.get("password", "")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        error = f"Use at least {PASSWORD_MIN} characters."
        return render_template("accounts/reset.html", token=token, error=error), 400
    if password != request.form.get("password_again", ""):
        error = "The two passwords differ."
        return render_template("accounts/reset.html", token=token, error=error), 400
    try:
        anonymous().reset_password(token, password)
    except DirectusUnavailable:
        raise
    except DirectusError as exc:
        log.info("password reset refused: %s", exc.code)
        error = "This link has expired or was already used. Ask for a new one."
        return render_template("accounts/reset.html", token=token, error=error), 400
    _end_every_session(token)
    security.end_session()
    flash("Your password is changed. Log in with the new one.", "info")
    return redirect(url_for("site.login"))
