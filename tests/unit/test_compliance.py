"""Security-compliance rules as pure functions of configuration, user and time."""
import datetime as dt
from types import SimpleNamespace

import pytest

from stratus.common import errors
from stratus.common.config import Config
from stratus.identity import compliance

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def conf(**sc):
    return Config(None, {"security_compliance": sc})


def user(**kw):
    base = dict(id="u1", options={}, failed_auth_count=0, failed_auth_at=None, last_active_at=None,
                created_at=T0, password_created_at=T0)
    return SimpleNamespace(**{**base, **kw})


def test_lockout_off_by_default():
    u = user()
    for _ in range(50):
        compliance.record_failure(conf(), u, T0)
    assert not compliance.locked_out(conf(), u, T0)


def test_lockout_after_n_failures_until_duration_passes():
    c = conf(lockout_failure_attempts=3, lockout_duration=60)
    u = user()
    for i in range(2):
        compliance.record_failure(c, u, T0)
        assert not compliance.locked_out(c, u, T0)
    compliance.record_failure(c, u, T0)
    assert compliance.locked_out(c, u, T0 + dt.timedelta(seconds=59))
    assert not compliance.locked_out(c, u, T0 + dt.timedelta(seconds=60))
    # after the lockout ran out, counting starts again
    compliance.record_failure(c, u, T0 + dt.timedelta(seconds=61))
    assert u.failed_auth_count == 1


def test_success_resets_the_counter_and_option_exempts():
    c = conf(lockout_failure_attempts=1, lockout_duration=60)
    u = user()
    compliance.record_failure(c, u, T0)
    assert compliance.locked_out(c, u, T0)
    u.options = {"ignore_lockout_failure_attempts": True}
    assert not compliance.locked_out(c, u, T0)
    compliance.record_success(c, u, T0)
    assert u.failed_auth_count == 0 and u.failed_auth_at is None


def test_inactive_users():
    c = conf(disable_user_account_days_inactive=10)
    assert not compliance.inactive(c, user(last_active_at=T0), T0 + dt.timedelta(days=10))
    assert compliance.inactive(c, user(last_active_at=T0), T0 + dt.timedelta(days=11))
    assert compliance.inactive(c, user(), T0 + dt.timedelta(days=11))  # never logged in
    assert not compliance.inactive(conf(), user(), T0 + dt.timedelta(days=999))


def test_password_regex_names_the_rule():
    c = conf(password_regex=r"^(?=.*\d).{8,}$", password_regex_description="8+ chars, a digit")
    compliance.check_pattern(c, "abcdefg1")
    with pytest.raises(errors.ValidationError, match="8\\+ chars, a digit"):
        compliance.check_pattern(c, "short1")
    compliance.check_pattern(conf(), "")  # no regex: anything goes


def test_minimum_age_and_locked_password_block_self_service():
    c = conf(minimum_password_age=1)
    with pytest.raises(errors.ValidationError, match="minimum password age"):
        compliance.check_self_service(None, c, user(), "x", T0 + dt.timedelta(hours=23))
    compliance.check_self_service(None, c, user(), "x", T0 + dt.timedelta(days=1, seconds=1))
    with pytest.raises(errors.Forbidden):
        compliance.check_self_service(None, conf(), user(options={"lock_password": True}), "x",
                                      T0)
