#!/usr/bin/env bash
# Run the Tempest API tests (identity, image, compute) against Stratus.
#
#   tests/tempest/run.sh [options] [STATE_DIR]
#
# STATE_DIR: state dir of an already running `stratus up` (its clouds.yaml is
# used).  Without it a private server is started on a free port in a temp
# state dir, and stopped/deleted afterwards.
#
# Options:
#   --full            run all of tempest.api.identity, .image.v2 and .compute
#                     (discovery mode)
#   --area AREA       with --full: only identity, image, compute, object_storage
#                     or network; without --full: only include-AREA.txt
#   --work DIR        work directory (default tests/tempest/work); separate
#                     directories let several runs go on at once
#   --regex REGEX     run tests matching REGEX instead (debugging)
#   --serial          one worker (default: --concurrency 2)
#   --concurrency N   N workers
#   --cloud NAME      admin cloud in clouds.yaml (default: stratus)
#   --features SPEC   identity-feature-enabled overrides for gen_conf.py,
#                     e.g. trust=true,api_extensions=OS-INHERIT:OS-EC2
#   --keep            keep the temporary state dir (implies a log hint)
#
# Default: only the tests listed in tests/tempest/include-*.txt.
# Output: per area "tempest <area>: N passed, N failed, N skipped";
# details in tests/tempest/work/failures.txt, tempest log in
# tests/tempest/work/workspace/logs/tempest.log, server output in
# tests/tempest/work/server.log and (own server) its logs in work/server-logs/.
# Exit status: 1 if any test selected by the include list failed (also in
# --full mode), 2 on harness errors (server did not start, no results).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${STRATUS_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
WORK=$HERE/work
START_TIMEOUT=${STRATUS_START_TIMEOUT:-180}

mode=include
area=
regex=
concurrency=2
serial=0
cloud=stratus
features=${STRATUS_TEMPEST_FEATURES:-}
keep=0
state_dir=

die() { echo "run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --full) mode=full ;;
        --area) area=${2:?--area needs a value}; shift ;;
        --work) WORK=${2:?--work needs a value}; shift ;;
        --regex) mode=regex; regex=${2:?--regex needs a value}; shift ;;
        --serial) serial=1 ;;
        --concurrency) concurrency=${2:?}; shift ;;
        --cloud) cloud=${2:?}; shift ;;
        --features) features=${2:?}; shift ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$state_dir" ] || die "only one STATE_DIR"; state_dir=$1 ;;
    esac
    shift
done

[ -x "$VENV/bin/tempest" ] || die "no tempest in $VENV"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
WS=$WORK/workspace
INCLUDE=$WORK/include-all.txt
if [ "$mode" = include ] && [ -n "$area" ]; then
    # --area without --full: only that area's include list
    [ -f "$HERE/include-$area.txt" ] || die "no $HERE/include-$area.txt"
    cat "$HERE/include-$area.txt" >"$INCLUDE"
else
    cat "$HERE"/include-*.txt >"$INCLUDE" 2>/dev/null
fi
if [ "$mode" = include ]; then
    [ -s "$INCLUDE" ] && grep -qv '^\s*\(#.*\)\?$' "$INCLUDE" ||
        die "$INCLUDE is missing or empty; run '$0 --full' then make_include_list.py"
fi

mkdir -p "$WORK"

# ---------------------------------------------------------------- server
server_pid=
tempest_pid=
tmp_state=
compute_host=
stop_group() {  # stop_group PID: TERM its process group, KILL after 10 s
    local pid=$1
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}
teardown_host() {  # remove what our own server's compute host left behind
    local host=$1 state=$2 pid comm ns
    # VMs and DHCP servers started for this state dir (qemu runs through
    # `ip netns exec` and names its disks/sockets under the state dir;
    # dnsmasq's config dir is there too).
    for pid in $(pgrep -f -- "$state/" 2>/dev/null); do
        comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
        case "$comm" in
            qemu-system-*|dnsmasq) kill -KILL "$pid" 2>/dev/null ;;
        esac
    done
    # the host namespace (bridges, taps) and the DHCP namespaces of the host
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case "$ns" in
            "$(printf 'shost-%s' "$host" | cut -c1-15)"|qdhcp-*-"$host")
                ip netns delete "$ns" 2>/dev/null ;;
        esac
    done
}
cleanup() {
    local rc=$?
    trap - INT TERM
    if [ -n "$tempest_pid" ]; then
        echo "run.sh: interrupted, stopping tempest" >&2
        stop_group "$tempest_pid"
    fi
    if [ -n "$server_pid" ]; then
        # the server was started with setsid: it leads its own process group
        stop_group "$server_pid"
    fi
    if [ -n "$compute_host" ] && [ -n "$tmp_state" ]; then
        # the VMs outlive their agent (a restarted agent re-adopts them):
        # remove the host's VMs and data plane now that the server is gone
        if "$VENV/bin/stratus" agent --help 2>/dev/null | grep -q -- --teardown; then
            timeout 120 "$VENV/bin/stratus" agent --teardown --host "$compute_host" \
                --state-dir "$tmp_state" >>"$WORK/server.log" 2>&1 ||
                echo "run.sh: stratus agent --teardown failed (see $WORK/server.log)" >&2
        fi
        teardown_host "$compute_host" "$tmp_state"  # whatever is still there
    fi
    if [ -n "$tmp_state" ] && [ -d "$tmp_state" ]; then
        # keep the server's own logs (they live in the state dir)
        rm -rf "$WORK/server-logs"
        mkdir -p "$WORK/server-logs"
        find "$tmp_state" -maxdepth 2 -name '*.log' -exec cp {} "$WORK/server-logs/" \; 2>/dev/null
        if [ "$keep" = 1 ]; then
            echo "run.sh: kept state dir $tmp_state" >&2
        else
            rm -rf "$tmp_state"
        fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$state_dir" ]; then
    [ -x "$VENV/bin/stratus" ] || die "no stratus in $VENV"
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    tmp_state=$(mktemp -d "${TMPDIR:-/tmp}/stratus-tempest.XXXXXX")
    state_dir=$tmp_state
    echo "run.sh: starting stratus on 127.0.0.1:$port (state $state_dir)"
    # a compute host of its own (namespace shost-<host>, at most 15 chars)
    compute_host=tp-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    "$PY" "$HERE/gen_conf.py" --server-conf --host "$compute_host" \
        >"$state_dir/stratus.conf" ||
        die "cannot write $state_dir/stratus.conf"
    up_args=(up --state-dir "$state_dir" --port "$port")
    # don't touch ~/.config/openstack/clouds.yaml if the server supports that
    if "$VENV/bin/stratus" up --help 2>/dev/null | grep -q -- --no-user-clouds; then
        up_args+=(--no-user-clouds)
    fi
    setsid "$VENV/bin/stratus" "${up_args[@]}" \
        >"$WORK/server.log" 2>&1 </dev/null &
    server_pid=$!
    url="http://127.0.0.1:$port/identity/v3"
    deadline=$((SECONDS + START_TIMEOUT))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] &&
          [ -s "$state_dir/clouds.yaml" ]; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            tail -n 30 "$WORK/server.log" >&2
            die "stratus up exited early (log: $WORK/server.log)"
        fi
        [ $SECONDS -lt $deadline ] || {
            tail -n 30 "$WORK/server.log" >&2
            die "no answer from $url after ${START_TIMEOUT}s"
        }
        sleep 0.5
    done
    echo "run.sh: $url is up"
fi

clouds=$state_dir/clouds.yaml
[ -s "$clouds" ] || die "no $clouds"

# ---------------------------------------------------------------- workspace
if [ ! -f "$WS/.stestr.conf" ]; then
    rm -rf "$WS"
    "$VENV/bin/tempest" init --workspace-path "$WORK/workspace.yaml" \
        --name stratus-identity "$WS" >/dev/null || die "tempest init failed"
fi
# our own server gets a shared network for the servers Tempest boots (a
# cloud given as STATE_DIR is not changed)
"$PY" "$HERE/gen_conf.py" "$clouds" "$cloud" -o "$WS/etc/tempest.conf" \
    --log-dir "$WS/logs" --lock-path "$WS/tempest_lock" \
    ${tmp_state:+--shared-network tempest-shared} \
    ${tmp_state:+--reseller-role ResellerAdmin} \
    ${features:+--features "$features"} || die "gen_conf.py failed"
rm -f "$WS/logs/tempest.log"

# ---------------------------------------------------------------- run
run_args=(run --config-file "$WS/etc/tempest.conf")
if [ "$serial" = 1 ]; then
    run_args+=(--serial)
else
    run_args+=(--concurrency "$concurrency")
fi
case "$mode" in
    full) case "$area" in
              identity) run_args+=(--regex '^tempest\.api\.identity\.') ;;
              image) run_args+=(--regex '^tempest\.api\.image\.v2\.') ;;
              compute) run_args+=(--regex '^tempest\.api\.compute\.') ;;
              object_storage) run_args+=(--regex '^tempest\.api\.object_storage\.') ;;
              network) run_args+=(--regex '^tempest\.api\.network\.') ;;
              '') run_args+=(--regex '^tempest\.api\.(identity|image\.v2|compute|object_storage)\.') ;;
              *) die "unknown --area $area" ;;
          esac ;;
    regex) run_args+=(--regex "$regex") ;;
    include) run_args+=(--include-list "$INCLUDE") ;;
esac

# the selected test ids: used to count a failed/skipped setUpClass per test
(cd "$WS" && "$VENV/bin/tempest" "${run_args[@]}" --list-tests 2>/dev/null) |
    grep '^tempest\.' >"$WORK/test-list.txt"
echo "run.sh: $(wc -l <"$WORK/test-list.txt") tests selected"

echo "run.sh: tempest ${run_args[*]}"
# own process group + wait: a signal to this script stops tempest at once
(cd "$WS" && exec setsid "$VENV/bin/tempest" "${run_args[@]}") \
    >"$WORK/tempest-run.out" 2>&1 </dev/null &
tempest_pid=$!
wait "$tempest_pid"
tempest_rc=$?
tempest_pid=
tail -n 5 "$WORK/tempest-run.out"

stream=$WORK/last.subunit
# (stestr last exits non-zero when the run had failures: judge by content)
(cd "$WS" && "$VENV/bin/stestr" last --subunit >"$stream" 2>/dev/null)
if [ ! -s "$stream" ]; then
    tail -n 40 "$WORK/tempest-run.out" >&2
    die "no test results (tempest exit $tempest_rc, see $WORK/tempest-run.out)"
fi

# Failures only count if the include list selects them (an absent list, as
# before the first make_include_list.py, selects nothing in --full/--regex).
summary_args=(summary "$stream" --report "$WORK/failures.txt"
              --test-list "$WORK/test-list.txt"
              --include-list "$([ -f "$INCLUDE" ] && echo "$INCLUDE" || echo /dev/null)")
"$PY" "$HERE/results.py" "${summary_args[@]}"
rc=$?
echo "run.sh: details in $WORK/failures.txt, tempest log $WS/logs/tempest.log"
exit $rc
