"""WSGI entry point for upstream Keystone under gunicorn.

Keystone's oslo.config parses ``sys.argv`` when the app is built, and would
choke on gunicorn's own command-line flags; hide them before importing.
The config is found through ``OS_KEYSTONE_CONFIG_DIR`` (keystone.conf inside).
"""
import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
