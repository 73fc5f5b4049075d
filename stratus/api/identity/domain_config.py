"""/v3/domains/{id}/config: per-domain identity driver options (Keystone's
domain configuration API).  Stratus stores and validates them; it has only the
SQL identity backend, so an ``ldap`` driver configured here is not used yet
(see docs/feature-matrix.md)."""
from __future__ import annotations

from sqlalchemy import delete, select

from stratus.api.identity import common as c
from stratus.api.routing import RouteTable
from stratus.common import errors
from stratus.db.models import identity as m

routes = RouteTable()
# Whitelisted options and their defaults, as Keystone's.
DEFAULTS: dict[str, dict] = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {"url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com",
             "query_scope": "one", "page_size": 0, "alias_dereferencing": "default",
             "debug_level": None, "chase_referrals": None, "user_tree_dn": None,
             "user_filter": None, "user_objectclass": "inetOrgPerson", "user_id_attribute": "cn",
             "user_name_attribute": "sn", "user_description_attribute": "description",
             "user_mail_attribute": "mail", "user_enabled_attribute": "enabled",
             "user_enabled_invert": False, "user_enabled_mask": 0, "user_enabled_default": "True",
             "group_tree_dn": None, "group_filter": None, "group_objectclass": "groupOfNames",
             "group_id_attribute": "cn", "group_name_attribute": "ou",
             "group_member_attribute": "member", "group_desc_attribute": "description",
             "use_tls": False, "tls_cacertfile": None, "tls_req_cert": "demand",
             "use_pool": True, "pool_size": 10, "user_enabled_emulation": False},
}
SENSITIVE = {"ldap": {"password"}}


def _check(config: dict) -> None:
    if not isinstance(config, dict) or not config:
        raise errors.Forbidden("Invalid domain specific configuration: the config is empty.")
    for group, opts in config.items():
        if group not in DEFAULTS:
            raise errors.Forbidden(f"Invalid domain specific configuration: group {group} is "
                                   "not supported.")
        if not isinstance(opts, dict) or not opts:
            raise errors.Forbidden(f"Invalid domain specific configuration: group {group} "
                                   "must be a non-empty object.")
        for opt in opts:
            if opt not in DEFAULTS[group] and opt not in SENSITIVE.get(group, ()):
                raise errors.Forbidden(f"Invalid domain specific configuration: option {opt} "
                                       f"in group {group} is not supported.")


def _body(req, wrapper: str = "config") -> dict:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise errors.ValidationError(f"Invalid input: '{wrapper}' object is required.")
    return body[wrapper]


def _load(s, domain_id: str) -> dict:
    out: dict = {}
    for row in s.scalars(select(m.DomainConfig).where(m.DomainConfig.domain_id == domain_id)):
        if row.option in SENSITIVE.get(row.group, ()):
            continue
        out.setdefault(row.group, {})[row.option] = row.value["v"]
    return out


def _store(s, domain_id: str, config: dict) -> None:
    for group, opts in config.items():
        for opt, value in opts.items():
            row = s.get(m.DomainConfig, (domain_id, group, opt))
            if row is None:
                s.add(m.DomainConfig(domain_id=domain_id, group=group, option=opt,
                                     value={"v": value}))
            else:
                row.value = {"v": value}
    s.flush()


def _domain(req, s, rule: str) -> str:
    d = c.get_or_404(s, m.Project, req.path_params["domain_id"], "domain", is_domain=True)
    req.authorize(rule, {"target": {"domain": {"id": d.id}}})
    return d.id


@routes.put("/v3/domains/{domain_id}/config")
def create_config(req):
    config = _body(req)
    _check(config)
    with req.db.session() as s:
        did = _domain(req, s, "identity:create_domain_config")
        existed = bool(_load(s, did))
        s.execute(delete(m.DomainConfig).where(m.DomainConfig.domain_id == did))
        _store(s, did, config)
        return (200 if existed else 201), {"config": _load(s, did)}


def _get_scoped(req, s, did: str):
    config = _load(s, did)
    group, opt = req.path_params.get("group"), req.path_params.get("option")
    if not config:
        raise errors.NotFound(f"Could not find domain config for domain {did}.")
    if group is None:
        return {"config": config}
    if group not in config:
        raise errors.NotFound(f"Could not find config group {group} for domain {did}.")
    if opt is None:
        return {"config": {group: config[group]}}
    if opt not in config[group]:
        raise errors.NotFound(f"Could not find config option {opt} in group {group} for "
                              f"domain {did}.")
    return {"config": {opt: config[group][opt]}}


def get_config(req):
    with req.db.session() as s:
        return _get_scoped(req, s, _domain(req, s, "identity:get_domain_config"))


def update_config(req):
    group, opt = req.path_params.get("group"), req.path_params.get("option")
    body = _body(req)
    if opt is not None:
        update = {group: body}
    elif group is not None:
        if set(body) != {group}:
            raise errors.ValidationError(f"The config in the body must contain only group "
                                         f"{group}.")
        update = body
    else:
        update = body
    _check(update)
    if opt is not None and set(body) != {opt}:
        raise errors.ValidationError(f"The config in the body must contain only option {opt}.")
    with req.db.session() as s:
        did = _domain(req, s, "identity:update_domain_config")
        current = _load(s, did)
        if not current:
            raise errors.NotFound(f"Could not find domain config for domain {did}.")
        if group is not None and group not in current:
            raise errors.NotFound(f"Could not find config group {group} for domain {did}.")
        if opt is not None and opt not in current[group]:
            raise errors.NotFound(f"Could not find config option {opt} in group {group}.")
        _store(s, did, update)
        return {"config": _load(s, did)}


def delete_config(req):
    group, opt = req.path_params.get("group"), req.path_params.get("option")
    with req.db.session() as s:
        did = _domain(req, s, "identity:delete_domain_config")
        _get_scoped(req, s, did)  # 404 for what is not there
        q = delete(m.DomainConfig).where(m.DomainConfig.domain_id == did)
        if group is not None:
            q = q.where(m.DomainConfig.group == group)
        if opt is not None:
            q = q.where(m.DomainConfig.option == opt)
        s.execute(q)
    return 204, None


for suffix in ("", "/{group}", "/{group}/{option}"):
    path = "/v3/domains/{domain_id}/config" + suffix
    routes.get(path)(get_config)
    routes.patch(path)(update_config)
    routes.delete(path)(delete_config)


def default_config(req):
    req.authorize("identity:get_domain_config_default", {})
    group, opt = req.path_params.get("group"), req.path_params.get("option")
    if group is None:
        return {"config": DEFAULTS}
    if group not in DEFAULTS:
        raise errors.Forbidden(f"Invalid domain specific configuration: group {group} is not "
                               "supported.")
    if opt is None:
        return {"config": {group: DEFAULTS[group]}}
    if opt not in DEFAULTS[group]:
        raise errors.Forbidden(f"Invalid domain specific configuration: option {opt} in group "
                               f"{group} is not supported.")
    return {"config": {opt: DEFAULTS[group][opt]}}


for suffix in ("/default", "/{group}/default", "/{group}/{option}/default"):
    routes.get("/v3/domains/config" + suffix)(default_config)
