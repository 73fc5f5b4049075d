#!/usr/bin/env python3
"""Generate a tempest.conf for the Identity v3 tests of a Stratus cloud.

Usage:
    gen_conf.py --server-conf [--host NAME]   (stratus.conf for run.sh's server)
    gen_conf.py CLOUDS_YAML CLOUD_NAME -o tempest.conf [--log-dir DIR]
                [--features trust=true,api_extensions=OS-INHERIT:OS-EC2]

CLOUD_NAME must be an admin, project-scoped cloud (``stratus`` in the
clouds.yaml written by ``stratus up``).  Option names were taken from
tempest/config.py of tempest 47.0.0.
"""

import argparse
import configparser
import os
import sys
import urllib.parse

import yaml

# [identity-feature-enabled]: what Stratus implements.  Only options that
# really exist in tempest 47 are listed.  Notes:
# * project tags, application credentials, endpoint groups (OS-EP-FILTER),
#   domain configuration, OAuth1 consumers, policies, credentials, regions,
#   implied roles have NO feature flag: their tests always run.
# * api_extensions only gates OS-INHERIT (test_inherits) and OS-EC2
#   (v3/test_ec2_credentials); 'all' enables both, '' disables both.
# * api_v2 / api_v2_admin / access_rules are deprecated but still read.
FEATURES = {
    'api_v2': False,
    'api_v2_admin': False,
    'api_v3': True,
    'trust': True,                   # OS-TRUST (admin/v3/test_trusts)
    'access_rules': True,            # app-cred access rules
    'domain_specific_drivers': False,
    'security_compliance': True,     # PCI-DSS lockout/password history
    'immutable_user_source': False,  # must stay False with dynamic creds
    # OS-INHERIT is implemented (test_inherits 6/6 pass); OS-EC2 is not.
    'api_extensions': ['OS-INHERIT', 'OS-EC2'],
}

# [compute-feature-enabled]: what the Compute API implements (issue 3).
COMPUTE_FEATURES = {
    'console_output': True, 'pause': True, 'suspend': True, 'snapshot': True,
    'config_drive': True, 'metadata_service': False, 'resize': False,
    'cold_migration': False, 'live_migration': False, 'shelve': False,
    'shelve_migrate': False, 'rescue': False, 'stable_rescue': False,
    'change_password': False, 'enable_instance_password': True,  # servers return adminPass
    'interface_attach': False, 'personality': False, 'disk_config': False,
    'vnc_console': False, 'spice_console': False, 'serial_console': False,
    'attach_encrypted_volume': False, 'swap_volume': False,
    'volume_multiattach': False, 'volume_backed_live_migration': False,
    'block_migration_for_live_migration': False, 'unified_limits': False,
    'scheduler_enabled_filters': ['AvailabilityZoneFilter', 'ComputeFilter', 'RamFilter',
                                  'CoreFilter', 'DiskFilter',
                                  'ServerGroupAntiAffinityFilter',
                                  'ServerGroupAffinityFilter'],
}

# The image the server tests boot ([compute] image_ref): the guest image
# `stratus up` registers, unless STRATUS_TEMPEST_IMAGE_REF names another.
GUEST_IMAGE = 'stratus-guest'

# Subnet of the shared network run.sh's server gets (--shared-network).
SHARED_CIDR = '10.199.0.0/22'

# [network]: the tenant networks Tempest creates come out of a range that
# overlaps neither `stratus up`'s 10.0.0.0/26 nor its public 172.24.4.0/24
# (nor SHARED_CIDR).
NETWORK = {
    'project_network_cidr': '10.100.0.0/16',
    'project_network_mask_bits': '28',
    'project_networks_reachable': 'False',
    'floating_network_name': 'public',
    'shared_physical_network': 'False',
    'build_timeout': '60',
    'build_interval': '1',
}

# Security-compliance settings: the server started by run.sh gets them in its
# stratus.conf ([security_compliance]) and tempest gets them in [identity], so
# both sides agree.  A server you start yourself needs the same values.
SECURITY = {
    'lockout_failure_attempts': 2,
    'lockout_duration': 5,
    'unique_last_password_count': 2,
    'minimum_password_age': 0,
}


def server_conf(host=None):
    """The stratus.conf a server under Tempest needs.  ``host``: its compute
    host name ([compute] host), so the VMs and the host namespace
    ``shost-<host>`` of this server are its own (run.sh picks a unique short
    name and removes what is left of that host when it stops)."""
    lines = ['[security_compliance]']
    lines += ['%s = %s' % (k, v) for k, v in SECURITY.items()]
    # Cheap bcrypt: Tempest creates hundreds of users.
    lines += ['', '[identity]', 'password_hash_rounds = 4']
    lines += ['', '[compute]']
    if host:
        lines += ['host = %s' % host]
    # Tempest stops, rebuilds and snapshots guests a second after they boot,
    # before the guest's acpid runs: the one ACPI power-button press the qemu
    # driver sends is lost and the agent waits the whole timeout before it
    # kills the VM (libvirt re-sends it every 10 s; ours does not yet).  The
    # agent works serially, so that wait stalls every VM of the host: keep it
    # short for these throwaway guests.
    lines += ['shutdown_timeout = 10', '', '[qemu]', 'wait_soft_reboot_seconds = 10']
    return '\n'.join(lines) + '\n'


# Services tempest must not expect in the catalog / try to use.
SERVICES = ['nova', 'neutron', 'glance', 'cinder', 'swift', 'horizon']
ENFORCE_SCOPE = ['keystone', 'nova', 'neutron', 'glance', 'cinder',
                 'placement']


def _bool(value):
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ('1', 'true', 'yes', 'on'):
        return True
    if v in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError('not a boolean: %r' % value)


def parse_features(spec):
    """'trust=true,api_extensions=OS-INHERIT:OS-EC2' -> dict."""
    out = {}
    if not spec:
        return out
    for item in spec.split(','):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition('=')
        key = key.strip()
        if not sep:
            raise SystemExit('--features: expected key=value, got %r' % item)
        if key not in FEATURES:
            raise SystemExit('--features: unknown identity feature %r '
                             '(known: %s)' % (key, ', '.join(FEATURES)))
        if isinstance(FEATURES[key], list):
            out[key] = [v for v in value.replace(';', ':').split(':') if v]
        else:
            out[key] = _bool(value)
    return out


def load_cloud(path, name):
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    clouds = data.get('clouds') or {}
    if name not in clouds:
        raise SystemExit('cloud %r not in %s (have: %s)'
                         % (name, path, ', '.join(clouds) or 'none'))
    return clouds[name]


def v3_uri(auth_url):
    """Normalise an auth_url to .../v3 (tempest wants the v3 URI)."""
    url = auth_url.rstrip('/')
    parts = urllib.parse.urlsplit(url)
    if not parts.path.rstrip('/').endswith('/v3'):
        url = url + '/v3'
    return url


def guest_image_ref(cloud, name=GUEST_IMAGE):
    """The id of the active image ``name`` (the guest image `stratus up`
    registers), asked of the cloud's Image service; None (with a note on
    stderr) when there is none or the cloud cannot be asked."""
    import httpx
    auth = cloud.get('auth') or {}
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': auth.get('username'), 'password': str(auth.get('password')),
        'domain': {'name': auth.get('user_domain_name') or 'Default'}}}},
        'scope': {'project': {'name': auth.get('project_name'),
                              'domain': {'name': auth.get('project_domain_name')
                                         or 'Default'}}}}}
    try:
        with httpx.Client(timeout=30, trust_env=False) as http:
            r = http.post(v3_uri(auth['auth_url']) + '/auth/tokens', json=body)
            r.raise_for_status()
            urls = [e['url'] for svc in r.json()['token']['catalog']
                    if svc['type'] == 'image' for e in svc['endpoints']
                    if e['interface'] == 'public']
            if not urls:
                raise LookupError('no public image endpoint in the catalog')
            images = http.get(urls[0].rstrip('/') + '/v2/images',
                              params={'name': name, 'status': 'active'},
                              headers={'X-Auth-Token': r.headers['X-Subject-Token']})
            images.raise_for_status()
            found = images.json()['images']
    except (httpx.HTTPError, KeyError, LookupError, ValueError) as exc:
        sys.stderr.write('gen_conf.py: cannot look up image %r: %s\n' % (name, exc))
        return None
    if not found:
        sys.stderr.write('gen_conf.py: no active image %r; [compute] image_ref unset\n'
                         % name)
        return None
    return found[0]['id']


def _admin_session(http, cloud):
    """(token, catalog) of the cloud's admin, project-scoped."""
    auth = cloud.get('auth') or {}
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': auth.get('username'), 'password': str(auth.get('password')),
        'domain': {'name': auth.get('user_domain_name') or 'Default'}}}},
        'scope': {'project': {'name': auth.get('project_name'),
                              'domain': {'name': auth.get('project_domain_name')
                                         or 'Default'}}}}}
    r = http.post(v3_uri(auth['auth_url']) + '/auth/tokens', json=body)
    r.raise_for_status()
    return r.headers['X-Subject-Token'], r.json()['token']['catalog']


def _endpoint(catalog, kind):
    urls = [e['url'] for svc in catalog if svc['type'] == kind
            for e in svc['endpoints'] if e['interface'] == 'public']
    if not urls:
        raise LookupError('no public %s endpoint in the catalog' % kind)
    return urls[0].rstrip('/')


def ensure_shared_network(cloud, name, cidr=SHARED_CIDR):
    """Make sure the cloud has a shared network ``name`` with an IPv4 subnet
    (created by the admin when missing): the network Tempest's servers get
    ([compute] fixed_network_name), as DevStack's shared network would be.
    Without it the dynamic Tempest projects can see no network and their
    servers boot without a NIC.  Returns the network id, or None (with a note
    on stderr) when it cannot be made."""
    import httpx
    try:
        with httpx.Client(timeout=30, trust_env=False) as http:
            token, catalog = _admin_session(http, cloud)
            base = _endpoint(catalog, 'network') + '/v2.0'
            hdr = {'X-Auth-Token': token}
            r = http.get(base + '/networks', params={'name': name}, headers=hdr)
            r.raise_for_status()
            nets = [n for n in r.json()['networks'] if n.get('shared')]
            if nets:
                net = nets[0]
            else:
                r = http.post(base + '/networks', headers=hdr, json={
                    'network': {'name': name, 'shared': True}})
                r.raise_for_status()
                net = r.json()['network']
            if not net.get('subnets'):
                r = http.post(base + '/subnets', headers=hdr, json={'subnet': {
                    'name': name + '-subnet', 'network_id': net['id'],
                    'ip_version': 4, 'cidr': cidr}})
                r.raise_for_status()
            return net['id']
    except (httpx.HTTPError, KeyError, LookupError, ValueError) as exc:
        sys.stderr.write('gen_conf.py: cannot make shared network %r: %s\n' % (name, exc))
        return None


def network_facts(cloud, public='public'):
    """(public_network_id, extension aliases) of the cloud's Network service:
    the id of the external network ``public`` `stratus up` creates and exactly
    what ``/v2.0/extensions`` lists, for Tempest's [network] and
    [network-feature-enabled].  (None, None) (with a note on stderr) when the
    cloud cannot be asked."""
    import httpx
    try:
        with httpx.Client(timeout=30, trust_env=False) as http:
            token, catalog = _admin_session(http, cloud)
            base = _endpoint(catalog, 'network') + '/v2.0'
            hdr = {'X-Auth-Token': token}
            r = http.get(base + '/extensions', headers=hdr)
            r.raise_for_status()
            aliases = sorted(e['alias'] for e in r.json()['extensions'])
            r = http.get(base + '/networks', headers=hdr,
                         params={'name': public, 'router:external': 'True'})
            r.raise_for_status()
            nets = [n for n in r.json()['networks'] if n.get('router:external')]
            if not nets:
                sys.stderr.write('gen_conf.py: no external network %r; '
                                 '[network] public_network_id unset\n' % public)
            return (nets[0]['id'] if nets else None), aliases
    except (httpx.HTTPError, KeyError, LookupError, ValueError) as exc:
        sys.stderr.write('gen_conf.py: cannot ask the network service: %s\n' % exc)
        return None, None


def ensure_role(cloud, name):
    """Make sure the role ``name`` exists (created by the admin when missing):
    Tempest gives its object-storage reseller user ``ResellerAdmin``, as
    DevStack's Swift setup creates it.  Returns True when the role exists."""
    import httpx
    try:
        with httpx.Client(timeout=30, trust_env=False) as http:
            token, _ = _admin_session(http, cloud)
            base = v3_uri((cloud.get('auth') or {})['auth_url'])
            hdr = {'X-Auth-Token': token}
            r = http.get(base + '/roles', params={'name': name}, headers=hdr)
            r.raise_for_status()
            if not r.json()['roles']:
                http.post(base + '/roles', headers=hdr,
                          json={'role': {'name': name}}).raise_for_status()
            return True
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        sys.stderr.write('gen_conf.py: cannot make role %r: %s\n' % (name, exc))
        return False


def build_conf(cloud, features, log_dir=None, log_file='tempest.log',
               lock_path=None, shared_network=None):
    auth = cloud.get('auth') or {}
    for key in ('auth_url', 'username', 'password', 'project_name'):
        if not auth.get(key):
            raise SystemExit('clouds.yaml cloud lacks auth.%s' % key)

    def dom(kind):
        # tempest only takes domain *names* for the admin user/project.
        return (auth.get('%s_domain_name' % kind)
                or auth.get('domain_name')
                or ('Default' if auth.get('%s_domain_id' % kind,
                                          'default') == 'default'
                    else None))

    user_domain = dom('user') or 'Default'
    project_domain = dom('project') or 'Default'

    c = configparser.ConfigParser(interpolation=None)
    c.optionxform = str  # keep option case

    c['DEFAULT'] = {
        'debug': 'True',
        'use_stderr': 'False',
        'log_file': log_file,
    }
    if log_dir:
        c['DEFAULT']['log_dir'] = log_dir

    c['auth'] = {
        'use_dynamic_credentials': 'True',
        'create_isolated_networks': 'False',
        'admin_username': auth['username'],
        'admin_password': str(auth['password']),
        'admin_project_name': auth['project_name'],
        'admin_domain_name': user_domain,
        'admin_user_domain_name': user_domain,
        'admin_project_domain_name': project_domain,
        'default_credentials_domain_name': 'Default',
    }

    c['identity'] = {
        'uri_v3': v3_uri(auth['auth_url']),
        'auth_version': 'v3',
        'region': cloud.get('region_name') or 'RegionOne',
        'v3_endpoint_type': 'public',
        'catalog_type': 'identity',
        'admin_role': 'admin',
        'default_domain_id': 'default',
        'admin_domain_scope': 'False',
        'use_system_token': 'False',
        'disable_ssl_certificate_validation':
            str(not cloud.get('verify', True)),
        'user_lockout_failure_attempts': str(SECURITY['lockout_failure_attempts']),
        'user_lockout_duration': str(SECURITY['lockout_duration']),
        'user_unique_last_password_count': str(SECURITY['unique_last_password_count']),
        'user_minimum_password_age': str(SECURITY['minimum_password_age']),
    }

    fe = dict(FEATURES)
    fe.update(features)
    c['identity-feature-enabled'] = {
        k: (','.join(v) if isinstance(v, list) else str(v))
        for k, v in fe.items()
    }

    c['service_available'] = {s: 'False' for s in SERVICES}
    # Image (Glance v2): direct upload only, no import workflow, no format
    # inspection; tempest's image tests upload random bytes.
    c['service_available']['glance'] = 'True'
    c['image'] = {'build_timeout': '60', 'build_interval': '1'}
    c['image-feature-enabled'] = {'api_v2': 'True', 'import_image': 'False',
                                  'os_glance_reserved': 'True', 'do_secure_hash': 'True',
                                  'image_format_enforcement': 'False',
                                  'manage_locations': 'False'}
    # Compute (Nova v2.1): microversion 2.1 only; default flavors 1 (m1.tiny)
    # and 2 (m1.small).  Features are what Stratus implements (see COMPUTE_FEATURES).
    c['service_available']['nova'] = 'True'
    # Servers get their ports from Neutron (nova-network's os-networks is gone).
    c['service_available']['neutron'] = 'True'
    # Network (Neutron v2.0, tempest.api.network): IPv4 only; the extensions
    # are exactly what /v2.0/extensions lists (NETWORK_NOTES.md).  floating_ips
    # also gates tempest.api.compute.floating_ips (nova-network proxy APIs,
    # not in include-compute.txt).
    c['network'] = dict(NETWORK)
    c['network-feature-enabled'] = {'ipv6': 'False', 'ipv6_subnet_attributes': 'False',
                                    'port_security': 'True', 'floating_ips': 'True',
                                    'port_admin_state_change': 'True'}
    public_id, extensions = network_facts(cloud)
    if public_id:
        c['network']['public_network_id'] = public_id
    if extensions is not None:
        c['network-feature-enabled']['api_extensions'] = ','.join(extensions)
    c['compute'] = {'min_microversion': '2.1', 'max_microversion': '2.11',
                    'flavor_ref': '1', 'flavor_ref_alt': '2',
                    'build_timeout': '120', 'build_interval': '1',
                    'min_compute_nodes': '1',
                    'fixed_network_name': shared_network or 'private'}
    c['compute-feature-enabled'] = {k: (','.join(v) if isinstance(v, list) else str(v))
                                    for k, v in COMPUTE_FEATURES.items()}
    image = os.environ.get('STRATUS_TEMPEST_IMAGE_REF') or guest_image_ref(cloud)
    if image:  # the server tests boot the default guest image
        c['compute']['image_ref'] = c['compute']['image_ref_alt'] = image
    # Object Storage (Swift v1): SLO/DLO, ACLs, expiry; no quotas, bulk,
    # tempurl, formpost, versioning or container sync (see docs/feature-matrix.md).
    c['service_available']['swift'] = 'True'
    c['object-storage'] = {'operator_role': 'member', 'reseller_admin_role': 'ResellerAdmin',
                           'build_timeout': '30'}
    c['object-storage-feature-enabled'] = {'discoverable_apis': 'slo',
                                           'container_sync': 'False',
                                           'object_versioning': 'False',
                                           'discoverability': 'True'}
    c['enforce_scope'] = {s: 'False' for s in ENFORCE_SCOPE}
    c['validation'] = {'run_validation': 'False'}
    c['service-clients'] = {'http_timeout': '60'}
    c['oslo_concurrency'] = {'lock_path': lock_path or os.path.join(
        log_dir or '.', 'tempest_lock')}
    return c


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ['--server-conf']:
        sp = argparse.ArgumentParser(prog='gen_conf.py --server-conf')
        sp.add_argument('--host', default=None,
                        help='[compute] host of the server (default: none, '
                             'i.e. the machine\'s hostname)')
        sys.stdout.write(server_conf(sp.parse_args(args[1:]).host))
        return 0
    p.add_argument('clouds_yaml')
    p.add_argument('cloud', nargs='?', default='stratus')
    p.add_argument('-o', '--output', default='-',
                   help='where to write tempest.conf (default: stdout)')
    p.add_argument('--log-dir', default=None,
                   help='directory for tempest.log (default: output dir)')
    p.add_argument('--lock-path', default=None,
                   help='oslo_concurrency lock_path (default: LOG_DIR/'
                        'tempest_lock)')
    p.add_argument('--features', default=os.environ.get(
        'STRATUS_TEMPEST_FEATURES', ''),
        help='comma separated identity-feature-enabled overrides, '
             'e.g. trust=true,api_extensions=OS-INHERIT:OS-EC2 '
             '(env STRATUS_TEMPEST_FEATURES)')
    p.add_argument('--shared-network', default=None, metavar='NAME',
                   help='make sure the cloud has a shared network NAME with a '
                        'subnet (created when missing) and give it to '
                        'Tempest as [compute] fixed_network_name')
    p.add_argument('--reseller-role', default=None, metavar='NAME',
                   help='make sure the role NAME exists (created when missing) '
                        'for Tempest\'s object-storage reseller user')
    args = p.parse_args(argv)

    cloud = load_cloud(args.clouds_yaml, args.cloud)
    if args.reseller_role:
        ensure_role(cloud, args.reseller_role)
    log_dir = args.log_dir
    if log_dir is None and args.output != '-':
        log_dir = os.path.dirname(os.path.abspath(args.output))
    if log_dir:
        log_dir = os.path.abspath(log_dir)
    shared = None
    if args.shared_network and ensure_shared_network(cloud, args.shared_network):
        shared = args.shared_network
    conf = build_conf(cloud, parse_features(args.features), log_dir=log_dir,
                      lock_path=args.lock_path and os.path.abspath(
                          args.lock_path), shared_network=shared)

    if args.output == '-':
        conf.write(sys.stdout)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)),
                    exist_ok=True)
        with open(args.output, 'w') as f:
            conf.write(f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
