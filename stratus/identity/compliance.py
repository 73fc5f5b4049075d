"""Keystone's security-compliance (PCI-DSS) rules for passwords and logins:
lockout after failed attempts, password history, minimum age, expiry, a
required pattern, change on first use and disabling inactive users.  All off
by default; see ``[security_compliance]`` in stratus.conf.

Per-user options (``user.options``) exempt a user, as in Keystone:
``ignore_lockout_failure_attempts``, ``ignore_password_expiry``,
``ignore_change_password_upon_first_use``, ``lock_password``.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete, select

from stratus.common import errors
from stratus.db.models import identity as m
from stratus.identity.passwords import hash_password, verify_password


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


def _opt(user: m.User, name: str) -> bool:
    return bool((user.options or {}).get(name))


# -- login ------------------------------------------------------------------------
def locked_out(conf, user: m.User, now: dt.datetime | None = None) -> bool:
    sc = conf.security_compliance
    if sc.lockout_failure_attempts <= 0 or _opt(user, "ignore_lockout_failure_attempts"):
        return False
    if (user.failed_auth_count or 0) < sc.lockout_failure_attempts or not user.failed_auth_at:
        return False
    return (now or _now()) < user.failed_auth_at + dt.timedelta(seconds=sc.lockout_duration)


def record_failure(conf, user: m.User, now: dt.datetime | None = None) -> None:
    """Count a failed password; a lockout that has run out starts a new count."""
    now = now or _now()
    sc = conf.security_compliance
    if sc.lockout_failure_attempts <= 0:
        return
    expired = user.failed_auth_at and \
        now >= user.failed_auth_at + dt.timedelta(seconds=sc.lockout_duration)
    user.failed_auth_count = 1 if expired else (user.failed_auth_count or 0) + 1
    user.failed_auth_at = now


def record_success(conf, user: m.User, now: dt.datetime | None = None) -> None:
    if user.failed_auth_count:
        user.failed_auth_count = 0
        user.failed_auth_at = None
    if conf.security_compliance.disable_user_account_days_inactive > 0:
        user.last_active_at = now or _now()


def inactive(conf, user: m.User, now: dt.datetime | None = None) -> bool:
    days = conf.security_compliance.disable_user_account_days_inactive
    if days <= 0:
        return False
    last = user.last_active_at or user.created_at
    return last is not None and (now or _now()) - last > dt.timedelta(days=days)


# -- setting passwords ----------------------------------------------------------------
def check_pattern(conf, password: str) -> None:
    sc = conf.security_compliance
    if sc.password_regex and not re.match(sc.password_regex, password):
        why = sc.password_regex_description or f"it must match {sc.password_regex}"
        raise errors.ValidationError(f"Password validation error: {why}.")


def check_self_service(s, conf, user: m.User, password: str,
                       now: dt.datetime | None = None) -> None:
    """Rules that apply only when users change their own password."""
    sc = conf.security_compliance
    now = now or _now()
    if _opt(user, "lock_password"):
        raise errors.Forbidden(f"The password of user {user.id} is locked and cannot be "
                               "changed by the user.")
    if sc.minimum_password_age > 0 and user.password_created_at and \
            now < user.password_created_at + dt.timedelta(days=sc.minimum_password_age):
        raise errors.ValidationError(f"You cannot change your password at this time due to "
                                     f"the minimum password age ({sc.minimum_password_age} "
                                     "days).")
    count = sc.unique_last_password_count
    if count > 1:
        recent = s.scalars(select(m.PasswordHistory.password_hash)
                           .where(m.PasswordHistory.user_id == user.id)
                           .order_by(m.PasswordHistory.id.desc()).limit(count))
        if any(verify_password(password, h) for h in recent):
            raise errors.ValidationError(f"The new password cannot be identical to a previous "
                                         f"password. The number of previous passwords that "
                                         f"must be unique is: {count}.")


def set_password(s, conf, user: m.User, password: str | None, by_admin: bool,
                 now: dt.datetime | None = None) -> None:
    """Store a new password (None removes it) with its history and expiry."""
    now = now or _now()
    sc = conf.security_compliance
    if password is None:
        user.password_hash = None
        user.password_expires_at = None
        return
    check_pattern(conf, password)
    user.password_hash = hash_password(password, conf.identity.password_hash_rounds)
    user.password_created_at = now
    user.failed_auth_count, user.failed_auth_at = 0, None
    if by_admin and sc.change_password_upon_first_use and \
            not _opt(user, "ignore_change_password_upon_first_use"):
        user.password_expires_at = now
    elif sc.password_expires_days > 0 and not _opt(user, "ignore_password_expiry"):
        user.password_expires_at = now + dt.timedelta(days=sc.password_expires_days)
    else:
        user.password_expires_at = None
    if user.id:
        s.flush()
        s.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash,
                                created_at=now))
        keep = max(sc.unique_last_password_count, 1)
        old = list(s.scalars(select(m.PasswordHistory.id)
                             .where(m.PasswordHistory.user_id == user.id)
                             .order_by(m.PasswordHistory.id.desc()).offset(keep)))
        if old:
            s.execute(delete(m.PasswordHistory).where(m.PasswordHistory.id.in_(old)))
