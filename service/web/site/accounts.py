"""Accounts: sign up, verify the email address, log in, log out, reset the password.

Only the service creates DJ accounts: sign-up checks the age and the consent, creates the account
with the service token and has a job mail a signed verification link (``service.accounts``). Log-in
checks the password through Directus with the service's proof (extension aidj-guard), then
refuses an account whose address is not verified yet, saying so and offering the link again: only
someone who knows the password learns that. Password resets go through Directus's own mail.

Messages never reveal whether an email has an account: sign-up, log-in failures, resend and reset
requests answer the same way for known and unknown addresses. A person under 13 is turned away before
anything about them is sent anywhere or written down, and the browser is remembered (a marker with no
personal data in the signed session cookie) so that ticking "13 or older" next does not get through:
a date of birth is then required.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests

from service.accounts import read_verification_token
from service.integrations.directus import (
    DirectusAuthError,
    DirectusClient,
    DirectusError,
    DirectusInvalid,
    DirectusUnavailable,
)
from service.jobs.queue import enqueue
from service.legal import current_document
from service.stack.access import role_id
from service.web import security
from service.web.site import bp, directus, safe_next, site_url

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
VERIFY_FIRST = (
    "Verify your email address first: open the link we mailed you when you signed up. "
    "It may have expired; ask for a new one below."
)
VERIFY_SENT = "If this address belongs to an account still waiting for verification, a new link is on its way."
#: After an under-13 refusal, this browser must give a date of birth for this long.
AGE_REFUSAL_TTL_S = 24 * 3600
_AGE_REFUSED = "age_refused_at"
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
    wait = security.check_rate_limits(action, security.client_address(), email)
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

    birth_date_required: bool = False

    @classmethod
    def from_request(cls, *, birth_date_required: bool = False) -> SignupForm:
        """Read and check the posted form; after a refusal only a date of birth proves the age."""
        form = request.form
        self = cls(
            display_name=form.get("display_name", "").strip(),
            email=form.get("email", "").strip().lower(),
            password=form.get("password", ""),
            date_of_birth=form.get("date_of_birth", "").strip(),
            age_confirmed=form.get("age_confirmed") == "yes",
            accept_terms=form.get("accept_terms") == "yes",
            marketing=form.get("marketing") == "yes",
            birth_date_required=birth_date_required,
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
        elif self.birth_date_required:
            self.errors["age"] = "Give your date of birth to continue."
        elif not self.age_confirmed:
            self.errors["age"] = "Give your date of birth, or confirm that you are 13 or older."
        if not self.accept_terms:
            self.errors["accept_terms"] = "You need to accept the terms and the privacy policy."


@bp.get("/")
def home() -> Any:
    """The front page; a logged-in DJ goes straight to the dashboard."""
    if g.get("user"):
        return redirect(url_for("site.dashboard"))
    # The formats named come from the code that reads and writes them, so the page never promises
    # one that is not built.
    from service.billing import unavailable_reason
    from service.dj.playlists.detection import READ_TEXT
    from service.web.site.sets import DOWNLOADS

    can_buy = unavailable_reason(current_app.config) is None
    return render_template(
        "home.html",
        read_text=READ_TEXT,
        exports=[label for label, _, _ in DOWNLOADS.values()],
        can_buy=can_buy,
    )


def _age_refused_recently() -> bool:
    refused = session.get(_AGE_REFUSED)
    return isinstance(refused, int | float) and time.time() - refused < AGE_REFUSAL_TTL_S


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    """Create a DJ account with the age check and consent records; a job mails the link."""
    birth_date_required = _age_refused_recently()
    if request.method == "GET":
        if g.get("user"):
            return redirect(url_for("site.dashboard"))
        form = SignupForm(birth_date_required=birth_date_required)
        return render_template("accounts/signup.html", form=form)
    _limit("signup", request.form.get("email", "").strip().lower() or None)
    form = SignupForm.from_request(birth_date_required=birth_date_required)
    if form.under_age:
        # Nothing about the person is kept: no Directus call, no log line with their details;
        # only the time of the refusal, in this browser's signed session cookie.
        session[_AGE_REFUSED] = int(time.time())
        return render_template("accounts/too_young.html"), 403
    if form.errors:
        form.password = ""
        return render_template("accounts/signup.html", form=form), 400
    try:
        _create_account(form)
    except DirectusUnavailable:
        form.password = ""
        flash("Sign-up is busy right now. Wait a minute and try again.", "error")
        return render_template("accounts/signup.html", form=form), 503
    return render_template("accounts/signup_sent.html", message=SIGNUP_SENT)


def _create_account(form: SignupForm) -> None:
    """The account, its consent records and the verification mail; an address in use changes nothing.

    A repeated sign-up for an address still waiting for verification mails the link again.
    """
    client = directus()
    try:
        user = client.create_item(
            "directus_users",
            {
                "email": form.email,
                "password": form.password,
                "role": role_id("DJ"),
                "status": "active",
                "first_name": form.display_name,
                "display_name": form.display_name,
                "age_confirmed": True,
                "marketing_opt_in": form.marketing,
            },
        )
    except DirectusInvalid as exc:
        if exc.code != "RECORD_NOT_UNIQUE":
            raise
        _resend_verification(form.email)
        return
    _record_consents(client, str(user["id"]), form.marketing)
    enqueue("verification_mail", user["id"], connection=current_app.extensions["redis"])


def _record_consents(client: DirectusClient, user_id: str, marketing: bool) -> None:
    """Consent records of a new account: terms and privacy policy (contract), marketing if ticked."""
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
    if marketing:
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


def _resend_verification(email: str) -> None:
    """Mail the link again if ``email`` is a DJ account waiting for verification; else nothing."""
    users = directus().list_items(
        "directus_users",
        filter={"email": {"_eq": email}, "role": {"_eq": role_id("DJ")}},
        fields=["id", "email_verified_at", "status"],
        limit=1,
    )
    if users and not users[0].get("email_verified_at") and users[0].get("status") == "active":
        enqueue("verification_mail", users[0]["id"], connection=current_app.extensions["redis"])


@bp.get("/verify-email")
def verify_email() -> Any:
    """The link from the verification mail: mark the address verified, then ask the DJ to log in."""
    found = read_verification_token(
        str(current_app.config["SECRET_KEY"]), request.args.get("token", "")
    )
    if found is None:
        return render_template("accounts/verified.html", ok=False), 400
    user_id, email = found
    users = directus().list_items(
        "directus_users",
        filter={"id": {"_eq": user_id}, "email": {"_eq": email}, "status": {"_eq": "active"}},
        fields=["id", "email_verified_at"],
        limit=1,
    )
    if not users:
        # The account is gone, suspended, or its address changed since the link was sent.
        return render_template("accounts/verified.html", ok=False), 400
    if not users[0].get("email_verified_at"):
        directus().update_item("directus_users", user_id, {"email_verified_at": _now()})
    return render_template("accounts/verified.html", ok=True)


@bp.route("/verify-email/resend", methods=["GET", "POST"])
def resend_verification() -> Any:
    """Ask for a new verification link; the answer is the same for every address."""
    if request.method == "GET":
        return render_template("accounts/resend.html", email=request.args.get("email", ""))
    email = request.form.get("email", "").strip().lower()
    _limit("resend", email)
    if _EMAIL.match(email):
        _resend_verification(email)
    return render_template("accounts/signup_sent.html", message=VERIFY_SENT)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in: the password is checked by Directus, the session kept here."""
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
        tokens = client.login(
            email, password, proof_secret=str(current_app.config["HOOK_SECRET"] or "")
        )
        user = directus().get_item(
            "directus_users",
            str(client.with_token(tokens.access_token).me(fields=["id"])["id"]),
            fields=["id", "role", "email_verified_at"],
        )
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
    if user.get("role") != role_id("DJ") or not user.get("email_verified_at"):
        _end_directus_session(tokens.refresh_token)
        if user.get("role") != role_id("DJ"):  # staff and the service use the Studio, not the site
            flash(LOGIN_FAILED, "error")
            return render_template("accounts/login.html", email=email, next=next_path), 401
        return render_template("accounts/verify_first.html", email=email, message=VERIFY_FIRST), 403
    security.start_session(str(user["id"]), tokens.refresh_token)
    # The sign-up grant comes with the first verified log-in (once: the ledger reference is unique).
    enqueue("signup_grant", user["id"], connection=current_app.extensions["redis"])
    from service.web.site.consent import after_login  # a changed legal text waits for acceptance

    return redirect(after_login(str(user["id"])) or next_path or url_for("site.dashboard"))


def _end_directus_session(refresh_token: str | None) -> None:
    """Log a Directus session out; one already expired or revoked is over either way."""
    if not refresh_token:
        return
    try:
        anonymous().logout(refresh_token)
    except DirectusError as exc:
        log.info("Directus log-out: %s", exc.code)


@bp.post("/logout")
def logout() -> Any:
    """End the session here and in Directus."""
    record = security.end_session()
    if record:
        _end_directus_session(record.refresh_token)
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


def _after_reset(token: str) -> None:
    """After a reset: whoever was logged in with the old password is logged out everywhere, and the
    address counts as verified (the DJ just opened a link mailed to it)."""
    email = _token_email(token)
    if not email:
        return
    users = directus().list_items(
        "directus_users",
        filter={"email": {"_eq": email}},
        fields=["id", "email_verified_at"],
        limit=1,
    )
    if not users:
        return
    if not users[0].get("email_verified_at"):
        directus().update_item("directus_users", users[0]["id"], {"email_verified_at": _now()})
    for record in security.end_sessions_of(str(users[0]["id"])):
        _end_directus_session(record.refresh_token)


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
    _after_reset(token)
    security.end_session()
    flash("Your password is changed. Log in with the new one.", "info")
    return redirect(url_for("site.login"))
