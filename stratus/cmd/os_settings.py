"""OpenStack client settings as ``openstack.config`` resolves them, without
importing it: clouds.yaml merged with secure.yaml (the cloud chosen by
``--os-cloud`` / ``OS_CLOUD``), else the ``OS_*`` variables, with the same
precedence and the same old-spelling fixes.  :func:`resolve` returns the
:class:`Settings` a login needs, or None for what only ``openstack.config``
handles (other auth types, client certificates, vendor profiles, domain or
trust scope ...).  Pure but for reading the files; stratus/cmd/osauth.py logs in."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

FILE_SUFFIXES = (".yaml", ".yml", ".json")
# OS_* variables that only select a cloud: alone they make no "envvars" cloud
SELECTORS = {"OS_CLOUD", "OS_REGION_NAME", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE",
             "OS_CLOUD_NAME"}
# openstack/config/defaults.json keys that every cloud starts with (none changes auth)
DEFAULTS = {"auth_type": "password", "interface": "public"}
AUTH_TYPES = {"password": "password", "v3password": "password", "token": "token",
              "v3token": "token", "v3applicationcredential": "application_credential"}
SCOPE = ("project_id", "project_name", "project_domain_id", "project_domain_name",
         "system_scope", "domain_id", "domain_name", "trust_id", "default_domain_id",
         "default_domain_name")
USER = ("user_id", "username", "user_domain_id", "user_domain_name")
OPTIONS = {  # the keystoneauth plugin options of each auth type (besides auth_url)
    "password": SCOPE + USER + ("password",),
    "token": SCOPE + ("token",),
    "application_credential": SCOPE[:-2] + USER + (
        "application_credential_id", "application_credential_secret",
        "application_credential_name"),
}
# openstack.config's magic_fixes: old spellings of auth keys (top level wins)
ALIASES = {"project_id": ("tenant_id", "project_id"),
           "project_name": ("tenant_name", "project_name"),
           "token": ("auth_token", "token")}
# top-level keys that change how the login is made: not handled here
UNHANDLED = {"cert", "key", "profile", "cloud", "auth_methods", "passcode", "auth_plugin"}


@dataclass
class Settings:
    """What a login needs: the result of resolving clouds.yaml / OS_* settings."""
    auth_url: str           # the Identity v3 base, ending in /v3
    method: str             # password | token | application_credential
    auth: dict = field(default_factory=dict)
    region_name: str = ""
    verify: bool | str = True   # False, True or a CA bundle path
    timeout: float | None = None
    versioned: bool = True      # auth_url was given with /v3


def config_dirs(environ) -> list[str]:
    """openstack.config's CONFIG_SEARCH_PATH on Linux (platformdirs' XDG dirs)."""
    home = os.path.expanduser("~")
    xdg_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [os.getcwd(), os.path.join(xdg_home, "openstack"),
            os.path.join(home, ".config", "openstack"),
            os.pathsep.join(os.path.join(d, "openstack") for d in xdg_dirs.split(os.pathsep)),
            "/etc/openstack"]


def _load_first(paths: list[str]):
    """The first readable file of ``paths`` parsed; ``(None, None)`` when none;
    raises ValueError on a file openstack.config would skip with a warning."""
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                if path.endswith("json"):
                    return path, json.load(f)
                import yaml
                return path, yaml.safe_load(f)
        except PermissionError:
            continue
        except Exception as exc:     # yaml/json errors: let openstack.config warn
            raise ValueError(f"{path}: {exc}") from exc
    return None, None


def _merge(old: dict, new: dict) -> dict:
    ret = dict(old)
    for k, v in new.items():
        ret[k] = _merge(ret.get(k) or {}, v) if isinstance(v, dict) else v
    return ret


def _normalize(d: dict) -> dict:
    """openstack.config's normalize_keys: '-' to '_', numbers to strings."""
    out = {}
    for k, v in d.items():
        k = k.replace("-", "_")
        if isinstance(v, dict):
            v = _normalize(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and k != "api_timeout":
            v = str(v)
        out[k] = v
    return out


def load_clouds(environ) -> dict | None:
    """The ``clouds`` mapping (clouds.yaml merged with secure.yaml), plus the
    ``envvars`` cloud made of OS_* variables; None when a file is unusual."""
    dirs = config_dirs(environ)
    files = [os.path.join(d, "clouds" + s) for d in dirs for s in FILE_SUFFIXES]
    secure = [os.path.join(d, "secure" + s) for d in dirs for s in FILE_SUFFIXES]
    if environ.get("OS_CLIENT_CONFIG_FILE"):
        files.insert(0, environ["OS_CLIENT_CONFIG_FILE"])
    if environ.get("OS_CLIENT_SECURE_FILE"):
        secure.insert(0, environ["OS_CLIENT_SECURE_FILE"])
    try:
        _, doc = _load_first(files)
        _, sec = _load_first(secure)
    except ValueError:
        return None
    if any(d is not None and not isinstance(d, dict) for d in (doc, sec)):
        return None          # openstack.config: "empty or not a valid mapping"
    if sec:
        doc = _merge(doc or {}, sec)
    clouds = dict((doc or {}).get("clouds") or {})
    env_name = environ.get("OS_CLOUD_NAME", "envvars")
    if env_name in clouds:
        return None         # openstack.config refuses this name clash: let it say so
    keys = [k for k in environ if k.startswith("OS_")
            and not k.startswith(("OS_TEST", "OS_STD", "OS_LOG"))]
    if set(keys) - SELECTORS:
        env_cloud = dict(DEFAULTS)
        env_cloud.update({k.split("_", 1)[1].lower(): environ[k] for k in keys})
        clouds[env_name] = env_cloud
    return clouds


def _regions(cloud: dict) -> list[dict] | None:
    """openstack.config's known regions: ``regions`` or ``region_name``."""
    if "regions" in cloud:
        out = []
        for r in cloud["regions"] or []:
            if isinstance(r, dict):
                if "name" not in r or not {"name", "values"} >= set(r):
                    return None
                out.append({"name": r["name"], "values": r.get("values") or {}})
            else:
                out.append({"name": r, "values": {}})
        return out
    names = cloud.get("region_name")
    if not names:
        return []
    names = names if isinstance(names, list) else str(names).split(",")
    return [{"name": n, "values": {}} for n in names]


def resolve(cloud_name: str | None, region_name: str | None, environ=None) -> Settings | None:
    """The login settings ``openstack.config.OpenStackConfig().get_one(cloud=...,
    region_name=...)`` would use, or None for anything this module does not handle."""
    environ = os.environ if environ is None else environ
    if environ.get("SNAP_REAL_HOME"):
        return None
    clouds = load_clouds(environ)
    if clouds is None:
        return None
    if cloud_name == "":
        return None          # get_one(cloud=""): the bare defaults, the SDK's error
    if cloud_name is None:   # OpenStackConfig's default cloud
        env_name = environ.get("OS_CLOUD_NAME", "envvars")
        cloud_name = environ.get("OS_CLOUD") or (env_name if env_name in clouds else None)
        if not cloud_name and len(clouds) == 1:
            cloud_name = next(iter(clouds))
    if not cloud_name or cloud_name not in clouds or not isinstance(clouds[cloud_name], dict):
        return None
    cloud = _normalize({**DEFAULTS, **clouds[cloud_name]})
    cloud["auth"] = dict(cloud.get("auth") or {})
    if UNHANDLED & (set(cloud) | set(cloud["auth"])):
        return None
    regions = _regions(cloud)
    if regions is None:
        return None
    region = {"name": region_name or "", "values": {}}
    if regions:
        match = [r for r in regions if r["name"] == region_name] if region_name else regions[:1]
        if not match:
            return None      # openstack.config: "Region X is not a valid region name ..."
        region = match[0]
    values = _normalize(region["values"])
    if "auth" in values:
        cloud["auth"].update(values.pop("auth"))
    cloud.update(values)
    return _settings(cloud, region["name"] or "")


def _bool(v) -> bool:
    return v if isinstance(v, bool) else str(v).lower() == "true"


def _settings(cloud: dict, region_name: str) -> Settings | None:
    auth = cloud["auth"]
    for target, names in ALIASES.items():   # old spellings; values outside 'auth' win
        value = None
        for n in names:
            if n in auth:
                value = auth.pop(n)
            if n in cloud:
                value = cloud.pop(n)
        if value:
            auth[target] = str(value)
    method = AUTH_TYPES.get(str(cloud.get("auth_type") or ""))
    if method is None:
        return None
    options = OPTIONS[method]
    # plugin options given at top level (the OS_* variables) move into 'auth'
    for opt in ("auth_url",) + options:
        if not auth.get(opt) and cloud.get(opt):
            auth[opt] = cloud[opt]
    if set(auth) - {"auth_url", *options}:
        return None          # an option this login does not know: keystoneauth's call
    # _handle_domain_id: domain_* names the user's and project's domain when scoped
    if auth.get("project_id") or auth.get("project_name"):
        for dom in ("id", "name"):
            if f"domain_{dom}" in auth:
                value = auth.pop(f"domain_{dom}")
                for who in ("user", "project"):
                    auth.setdefault(f"{who}_domain_{dom}", value)
    for dom in ("id", "name"):   # the generic plugins' default domain
        value = auth.pop(f"default_domain_{dom}", None)
        if value:
            for who in ("project",) if method == "token" else ("user", "project"):
                auth.setdefault(f"{who}_domain_{dom}", value)
    if method == "token" and any(k.startswith("user_") for k in auth):
        return None          # keystoneauth's token plugin takes no user (a TypeError)
    if auth.get("domain_id") or auth.get("domain_name") or auth.get("trust_id"):
        return None          # domain or trust scope
    scoped = bool(auth.get("project_id") or auth.get("project_name"))
    if scoped and auth.get("system_scope") or method == "application_credential" and (
            scoped or auth.get("system_scope")):
        return None          # keystoneauth refuses these: let it say how
    if method != "application_credential" and not (scoped or auth.get("system_scope")):
        return None          # unscoped: no catalog
    url = str(auth.get("auth_url") or "")
    if not url or "{" in url:
        return None
    url = url.rstrip("/")
    last = url.rsplit("/", 1)[-1]
    versioned = last in ("v3", "v3.0")
    if not versioned:
        if last.startswith("v") and last[1:2].isdigit():
            return None      # v2.0 and the like
        url += "/v3"
    required = {"password": ("password",), "token": ("token",),
                "application_credential": ("application_credential_secret",)}[method]
    if not all(auth.get(k) for k in required):
        return None          # keystoneauth would prompt or complain
    verify: bool | str = cloud.get("verify", True)
    if _bool(cloud.get("insecure", False)):
        verify = False
    if verify and cloud.get("cacert"):
        verify = os.path.expanduser(str(cloud["cacert"]))
    timeout = cloud.get("api_timeout")
    return Settings(url, method, {k: v for k, v in auth.items() if k != "auth_url"},
                    region_name, verify, float(timeout) if timeout else None, versioned)
