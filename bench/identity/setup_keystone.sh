#!/usr/bin/env bash
# Upstream Keystone from PyPI, as the peer of the identity benchmark.
#
#   setup_keystone.sh install              venv bench/.keystone-venv with keystone,
#                                          gunicorn and psycopg (idempotent)
#   setup_keystone.sh init DIR [PORT]      DIR/keystone.conf, Fernet and credential keys,
#                                          db_sync and bootstrap (admin/password, RegionOne)
#   setup_keystone.sh serve DIR PORT [N]   exec gunicorn with N sync workers (default 2)
#   setup_keystone.sh                      install + init bench/.keystone-state on port 5001
#
# Environment:
#   KEYSTONE_DB        sqlite (default) or postgresql (database keystone_bench on
#                      127.0.0.1:5432 as user postgres; dropped and re-created by init)
#   KEYSTONE_CACHE     "memory": enable Keystone's cache with the in-process dogpile
#                      backend (default: caching off, Keystone's own default)
#   KEYSTONE_VERSION   pin a release (default: the newest pip finds for this Python)
#   KEYSTONE_PYTHON    interpreter for the venv (default python3.11, else python3)
#
# When Keystone cannot be installed or run here the script prints one line
#   keystone: unavailable (<reason>)
# on stderr and exits 3, so that run.py can report it instead of failing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH="$(dirname "$HERE")"
VENV="${KEYSTONE_VENV:-$BENCH/.keystone-venv}"
PGURL_ADMIN="postgresql://postgres@127.0.0.1:5432/postgres"
KS_DBNAME="keystone_bench"
export PYTHONWARNINGS="ignore"   # keystone-manage warns about eventlet on every call

unavailable() {
    echo "keystone: unavailable ($*)" >&2
    exit 3
}

last_error() {  # the most telling line of a log file
    local line
    line="$(grep -E '^(ERROR|error|[A-Za-z.]*(Error|Exception)\b)' "$1" | grep -v -i 'location.*ignored' | tail -n 1 || true)"
    [ -n "$line" ] || line="$(grep -v -i -E 'location.*ignored|^\s*$' "$1" | tail -n 1 || true)"
    echo "${line:0:300}"
}

pick_python() {
    local py
    for py in "${KEYSTONE_PYTHON:-}" python3.11 python3; do
        [ -n "$py" ] || continue
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    return 1
}

cmd_install() {
    local marker="$VENV/.stratus-bench-installed"
    if [ -f "$marker" ] && "$VENV/bin/python" -c 'import keystone.server.flask.core, gunicorn, psycopg' 2>/dev/null; then
        echo "keystone: already installed in $VENV ($(cat "$marker"))"
        return 0
    fi
    local py log
    py="$(pick_python)" || unavailable "no Python >= 3.10 with the venv module on PATH"
    log="$(mktemp)"
    echo "keystone: installing into $VENV with $($py --version 2>&1) (about a minute)"
    if ! "$py" -m venv "$VENV" >"$log" 2>&1; then
        unavailable "python -m venv failed: $(last_error "$log")"
    fi
    local spec="keystone${KEYSTONE_VERSION:+==$KEYSTONE_VERSION}"
    # gunicorn: pure Python, no compiler needed (uWSGI would have to be built from C).
    # psycopg (3): SQLAlchemy >= 2.1 maps postgresql:// to it, not to psycopg2.
    if ! "$VENV/bin/pip" install --quiet "$spec" gunicorn "psycopg[binary]" >"$log" 2>&1; then
        unavailable "pip install $spec failed: $(last_error "$log")"
    fi
    if ! "$VENV/bin/python" -c 'import keystone.server.flask.core, gunicorn, psycopg' >"$log" 2>&1; then
        unavailable "keystone installed but does not import: $(last_error "$log")"
    fi
    local ver
    ver="$("$VENV/bin/python" -c 'from importlib.metadata import version as v; print("keystone", v("keystone") + ", gunicorn", v("gunicorn"))')"
    echo "$ver" >"$marker"
    rm -f "$log"
    echo "keystone: installed $ver"
}

manage() {  # manage DIR LOG step args...
    local dir="$1" log="$2"; shift 2
    if ! "$VENV/bin/keystone-manage" --config-file "$dir/keystone.conf" "$@" >>"$log" 2>&1; then
        # keystone-manage logs its traceback to log_file, not to stderr
        cat "$dir/keystone.log" >>"$log" 2>/dev/null || true
        unavailable "keystone-manage $1 failed: $(last_error "$log")"
    fi
}

cmd_init() {
    local dir="${1:?usage: init DIR [PORT]}" port="${2:-5001}"
    [ -x "$VENV/bin/keystone-manage" ] || unavailable "not installed; run $0 install"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    mkdir -p "$dir/fernet-keys" "$dir/credential-keys"
    chmod 700 "$dir/fernet-keys" "$dir/credential-keys"
    local conn
    case "${KEYSTONE_DB:-sqlite}" in
        sqlite) conn="sqlite:///$dir/keystone.sqlite"; rm -f "$dir/keystone.sqlite" ;;
        postgresql|pg|postgres)
            conn="postgresql+psycopg://postgres@127.0.0.1:5432/$KS_DBNAME"
            "$VENV/bin/python" - "$PGURL_ADMIN" "$KS_DBNAME" <<'EOF' || unavailable "cannot (re)create PostgreSQL database keystone_bench on 127.0.0.1:5432"
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
    c.execute(f'CREATE DATABASE "{sys.argv[2]}"')
EOF
            ;;
        *) echo "KEYSTONE_DB must be sqlite or postgresql" >&2; exit 2 ;;
    esac
    cat >"$dir/keystone.conf" <<EOF
[DEFAULT]
log_file = $dir/keystone.log

[database]
connection = $conn

[token]
provider = fernet

[fernet_tokens]
key_repository = $dir/fernet-keys

[credential]
key_repository = $dir/credential-keys
EOF
    if [ "${KEYSTONE_CACHE:-}" = memory ]; then
        # Per-process dogpile cache (token validation, assignments, catalog): what a
        # deployment gets from memcached, without running memcached.
        printf '\n[cache]\nenabled = true\nbackend = dogpile.cache.memory\n' >>"$dir/keystone.conf"
    fi
    local log="$dir/setup.log"
    : >"$log"
    manage "$dir" "$log" db_sync
    manage "$dir" "$log" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
    manage "$dir" "$log" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
    local url="http://127.0.0.1:$port/v3"
    manage "$dir" "$log" bootstrap --bootstrap-password password \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" --bootstrap-public-url "$url"
    echo "keystone: initialised $dir (${KEYSTONE_DB:-sqlite}); serve with: $0 serve $dir $port 2"
}

cmd_serve() {
    local dir="${1:?usage: serve DIR PORT [WORKERS]}" port="${2:?PORT}" workers="${3:-2}"
    [ -x "$VENV/bin/gunicorn" ] || unavailable "not installed; run $0 install"
    [ -f "$dir/keystone.conf" ] || unavailable "no $dir/keystone.conf; run $0 init $dir $port"
    local extra=()
    # gunicorn >= 25 opens a control socket under ~/.gunicorn; the bench needs none.
    if "$VENV/bin/gunicorn" --help 2>/dev/null | grep -q -- '--no-control-socket'; then
        extra+=(--no-control-socket)
    fi
    export OS_KEYSTONE_CONFIG_DIR="$dir"
    export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
    # Sync workers: one request at a time per process, as Keystone runs under
    # mod_wsgi / uWSGI process mode. --timeout: bcrypt under load is slow.
    exec "$VENV/bin/gunicorn" "${extra[@]}" --workers "$workers" --worker-class sync \
        --bind "127.0.0.1:$port" --timeout 120 --log-level warning \
        --error-logfile "$dir/gunicorn.log" keystone_wsgi:application
}

case "${1:-all}" in
    install) cmd_install ;;
    init) shift; cmd_init "$@" ;;
    serve) shift; cmd_serve "$@" ;;
    all) cmd_install; cmd_init "$BENCH/.keystone-state" "${KEYSTONE_PORT:-5001}" ;;
    -h|--help|help) sed -n '2,20p' "$0" ;;
    *) echo "unknown command $1 (install, init, serve)" >&2; exit 2 ;;
esac
