#!/usr/bin/env bash
# Installs the gateway package into a Debian 12 container, boots systemd in it with
# systemd-nspawn and checks gatewayd.service and gatewayd.socket under that systemd.
#
# Usage: nspawn-test.sh WORKDIR
#   WORKDIR   empty folder for the container root, certificates and logs; the container
#             root is deleted at the end
# Environment:
#   GATEWAY_DEB           package to test (default: built with tools/package into WORKDIR)
#   GATEWAY_TEST_CACHE    folder for the cached Debian 12 root (default /var/cache/gateway-tests)
#   GATEWAY_TEST_MIRROR   Debian mirror for debootstrap (default: the host's APT source
#                         for bookworm)
#   GATEWAY_TEST_TRACE=1  trace every command (bash -x) into the log
#
# Standard output carries one line per result, read by SystemdServiceTests.swift:
#   STEP <name> ok
#   STEP <name> FAIL <reason>
#   SKIP <reason>              (exit status 77: systemd-nspawn cannot run here)
# Everything else goes to WORKDIR/test.log. Exit status 0 when every step passed, 1 when
# one failed.
set -uo pipefail

work=${1:?usage: nspawn-test.sh WORKDIR}
repository=$(cd "$(dirname "$0")/../.." && pwd)
cache=${GATEWAY_TEST_CACHE:-/var/cache/gateway-tests}
log=$work/test.log
mkdir -p "$work"
exec 3>&1 >>"$log" 2>&1
if [ "${GATEWAY_TEST_TRACE:-}" = 1 ]; then
    # A descriptor of its own keeps the trace out of output captured with 2>&1.
    exec 4>>"$log"
    BASH_XTRACEFD=4
    set -x
fi

# Packages of the container: systemd as PID 1, the package's dependencies (procps for
# /bin/kill in ExecReload=), and curl as the HTTPS client. Certificates and tokens are made on the host.
suite=bookworm
rootfs_packages=systemd,systemd-sysv,procps,libssl3,libcurl4,liburing2,curl,ca-certificates

failures=0
step_ok() { echo "STEP $1 ok" >&3; echo "=== STEP $1 ok"; }
step_fail() {
    local name=$1
    shift
    echo "STEP $name FAIL $*" >&3
    echo "=== STEP $name FAIL $*"
    failures=$((failures + 1))
}
skip() { echo "SKIP $*" >&3; echo "=== SKIP $*"; exit 77; }
note() { echo "--- $*"; }

# MARK: Preconditions

[ "$(id -u)" = 0 ] || skip "systemd-nspawn needs root; run the tests as root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not found; apt-get install systemd-container"
command -v nsenter >/dev/null || skip "nsenter not found; apt-get install util-linux"
for tool in openssl python3 dpkg-deb; do
    command -v "$tool" >/dev/null || { step_fail preconditions "$tool not found"; exit 1; }
done
if ! python3 -c 'import jwt, cryptography' 2>/dev/null; then
    step_fail preconditions "python3 cannot import jwt and cryptography; pip install PyJWT cryptography"
    exit 1
fi

machine=gwtest-$$
root=$work/root
nspawn_pid=
leader=
built_deb=

cleanup() {
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # SIGTERM makes systemd-nspawn ask the container's systemd to power off.
        kill -TERM "$nspawn_pid" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "$nspawn_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            note "container did not power off within 10 s, killing it"
            [ -n "$leader" ] && kill -KILL "$leader" 2>/dev/null
            kill -KILL "$nspawn_pid" 2>/dev/null
        fi
        wait "$nspawn_pid" 2>/dev/null
    fi
    rm -f "$work/nspawn.pid"
    [ -n "$built_deb" ] && rm -f "$built_deb"
    # The container's mounts live in its own mount namespace. A root that still has a
    # mount under it on the host is left in place rather than deleted through the mount.
    if [ -d "$root" ] && ! grep -q " $root/" /proc/self/mounts; then
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT
trap 'exit 1' TERM INT

# Runs a command without booting, like a chroot with the container's /proc and /dev.
nspawn_run() {
    timeout 300 systemd-nspawn -q -D "$root" --machine="$machine" --register=no --keep-unit \
        --private-network --pipe "$@" </dev/null
}

# Runs a command inside the booted container, in the namespaces of its PID 1.
in_container() {
    timeout "${command_timeout:-60}" nsenter --target "$leader" --mount --uts --ipc --net --pid \
        --cgroup --root --wd -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@" </dev/null
}

property() { in_container systemctl show -P "$2" "$1"; }

# Polls a command every 0.2 s until it succeeds or SECONDS pass.
wait_until() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}

# MARK: Package

if [ -n "${GATEWAY_DEB:-}" ]; then
    deb=$GATEWAY_DEB
else
    note "building the package"
    if ! timeout 900 "$repository/tools/package" --output "$work"; then
        step_fail package "tools/package failed (see $log)"
        exit 1
    fi
    deb=$(ls "$work"/gateway_*_amd64.deb 2>/dev/null | head -1)
    built_deb=$deb
fi
if [ ! -f "$deb" ]; then
    step_fail package "no package at '$deb'"
    exit 1
fi
step_ok package

# MARK: Cached root file system

mirror() {
    if [ -n "${GATEWAY_TEST_MIRROR:-}" ]; then
        echo "$GATEWAY_TEST_MIRROR"
        return
    fi
    # deb822 sources: the URIs of the stanza whose Suites contain the suite.
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk -v suite="$suite" '
            /^$/ { if (hit && uri != "") { print uri; exit } hit = 0; uri = "" }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
            END { if (hit && uri != "") print uri }' "$file"
    done | grep -v security | head -1 | grep . && return
    # One-line sources: deb URI SUITE COMPONENTS.
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }'
}

cache_key=$(echo "$suite $rootfs_packages" | sha256sum | cut -c1-12)
cached_root=$cache/rootfs-$suite-$cache_key
mkdir -p "$cache"
(
    flock -w 600 9 || { echo "timed out waiting for $cache/.lock"; exit 1; }
    [ -d "$cached_root" ] && exit 0
    source_uri=$(mirror)
    if [ -z "$source_uri" ]; then
        echo "no APT source for $suite on the host; set GATEWAY_TEST_MIRROR"
        exit 1
    fi
    command -v debootstrap >/dev/null || { echo "debootstrap not found; apt-get install debootstrap"; exit 1; }
    staging=$(mktemp -d "$cache/.debootstrap.XXXXXX")
    echo "debootstrap $suite from $source_uri into $staging"
    if timeout 480 debootstrap --variant=minbase --include="$rootfs_packages" "$suite" "$staging" "$source_uri"; then
        # The container has no network, so APT caches only take space.
        rm -rf "$staging"/var/cache/apt/archives/*.deb "$staging"/var/lib/apt/lists/*
        chmod 0755 "$staging"
        mv "$staging" "$cached_root"
        # Roots cached for another package list are not used again.
        for stale in "$cache"/rootfs-"$suite"-*; do
            [ "$stale" = "$cached_root" ] || grep -q " $stale/" /proc/self/mounts || rm -rf --one-file-system "$stale"
        done
    else
        for mount in proc sys dev/pts dev; do umount "$staging/$mount" 2>/dev/null; done
        grep -q " $staging/" /proc/self/mounts || rm -rf --one-file-system "$staging"
        exit 1
    fi
) 9>"$cache/.lock"
if [ ! -d "$cached_root" ]; then
    step_fail rootfs "could not build the Debian $suite root in $cached_root (see $log)"
    exit 1
fi
cp -a "$cached_root" "$root"
# mktemp -d made the cache 0700, but the container's / must be 0755 as on any system.
# Otherwise services with User= cannot chdir to / or connect to the journal.
chmod 0755 "$root"
step_ok rootfs

# MARK: Install

# systemd-nspawn mounts a fresh tmpfs on /tmp, so the package goes to /var/tmp.
cp "$deb" "$root/var/tmp/gateway.deb"
if nspawn_run dpkg -i /var/tmp/gateway.deb; then
    step_ok install
else
    step_fail install "dpkg -i failed (see $log)"
    exit 1
fi

problems=()
for path in usr/bin/gatewayd lib/systemd/system/gatewayd.service lib/systemd/system/gatewayd.socket \
    usr/lib/sysusers.d/gateway.conf usr/lib/tmpfiles.d/gateway.conf etc/gateway/gateway.json5; do
    [ -e "$root/$path" ] || problems+=("/$path missing")
done
grep -q '^gateway:' "$root/etc/passwd" || problems+=("user gateway missing")
owner=$(nspawn_run stat -c '%U:%G %a' /etc/gateway)
[ "$owner" = "root:gateway 750" ] || problems+=("/etc/gateway is '$owner', expected 'root:gateway 750'")
conffiles=$(nspawn_run dpkg-query -W -f '${Conffiles}' gateway)
grep -q '/etc/gateway/gateway.json5' <<<"$conffiles" || problems+=("gateway.json5 is not a conffile")
if [ ${#problems[@]} -eq 0 ]; then step_ok package-contents; else step_fail package-contents "${problems[*]}"; fi

# The static Swift runtime: gatewayd runs on Debian 12 without a Swift toolchain.
if version=$(nspawn_run /usr/bin/gatewayd --version) && [[ "$version" == gatewayd* ]]; then
    step_ok binary-runs
else
    step_fail binary-runs "gatewayd --version printed '$version'"
fi

# MARK: Test configuration

pki=$work/pki
mkdir -p "$pki"
(
    set -e
    cd "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout server.key -out server.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=test-client -keyout client.key -out client.pem
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out issuer.key
    # The token is signed with PyJWT, not with the gateway's code, and is bound to
    # client.pem by cnf.x5t#S256 = base64url(SHA-256(DER)) (RFC 8705).
    python3 - <<'PYTHON'
import base64, hashlib, json, time
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm

key = serialization.load_pem_private_key(open("issuer.key", "rb").read(), password=None)
jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
jwk.update({"kid": "test-key", "alg": "ES256", "use": "sig"})
open("idp-keys.json", "w").write(json.dumps({"keys": [jwk]}))

certificate = x509.load_pem_x509_certificate(open("client.pem", "rb").read())
der = certificate.public_bytes(serialization.Encoding.DER)
thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
now = int(time.time())
claims = {
    "iss": "https://issuer.test", "aud": "api://gateway", "sub": "systemd-test",
    "iat": now, "exp": now + 3600, "cnf": {"x5t#S256": thumbprint},
}
open("token", "w").write(jwt.encode(claims, key, algorithm="ES256", headers={"kid": "test-key"}))
PYTHON
)
if [ $? -ne 0 ]; then
    step_fail test-config "could not make certificates or the token (see $log)"
    exit 1
fi

gateway_gid=$(awk -F: '$1 == "gateway" { print $3 }' "$root/etc/group")
install -m 0640 -o 0 -g "$gateway_gid" "$pki/server.pem" "$pki/server.key" "$pki/idp-keys.json" "$root/etc/gateway/"
install -m 0600 "$pki/client.pem" "$pki/client.key" "$pki/token" "$root/root/"
# Port 443 checks AmbientCapabilities=CAP_NET_BIND_SERVICE for the gateway user.
cat >"$root/etc/gateway/gateway.json5" <<'EOF'
{
  listen: ["127.0.0.1:443"],
  workers: 2,
  shutdownTimeoutSeconds: 5,
  tls: { certificateFile: "server.pem", privateKeyFile: "server.key" },
  issuers: [{ issuer: "https://issuer.test", jwksFile: "idp-keys.json", audiences: ["api://gateway"] }],
  routes: [
    { path: "/api/data", handler: "claims" },
    { path: "/healthz", methods: ["GET"], handler: "health", auth: "none" },
  ],
  control: { socket: "/run/gateway/control.sock" },
}
EOF
chown 0:"$gateway_gid" "$root/etc/gateway/gateway.json5"
chmod 0640 "$root/etc/gateway/gateway.json5"

# A start that never receives READY=1 fails after 30 s instead of the default 90 s.
mkdir -p "$root/etc/systemd/system/gatewayd.service.d"
cat >"$root/etc/systemd/system/gatewayd.service.d/test-timeout.conf" <<'EOF'
[Service]
TimeoutStartSec=30s
EOF

# A service that only speaks sd_notify(3), to tell a broken harness from a broken gatewayd.
# systemd-notify --pid sends with the shell's PID as sender, the service's main PID.
cat >"$root/etc/systemd/system/notify-probe.service" <<'EOF'
[Service]
Type=notify
ExecStart=/bin/sh -c 'systemd-notify --pid=$$$$ --ready --status="probe ready"; exec sleep 600'
TimeoutStartSec=15s
EOF
step_ok test-config

# MARK: Boot

note "booting the container $machine"
systemd-nspawn -q -D "$root" --machine="$machine" --register=no --keep-unit --private-network \
    --boot </dev/null >"$work/console.log" 2>&1 &
nspawn_pid=$!
# SystemdServiceTests kills this PID if the script itself is killed before its cleanup.
echo "$nspawn_pid" >"$work/nspawn.pid"
for _ in $(seq 1 100); do
    leader=$(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null | awk '{ print $1 }')
    [ -n "$leader" ] && break
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$leader" ]; then
    tail -20 "$work/console.log"
    skip "systemd-nspawn --boot did not start the container (console: $(tail -3 "$work/console.log" | tr '\n' ' '))"
fi
system_state() {
    [ -S "/proc/$leader/root/run/systemd/private" ] || return 1
    local state
    state=$(command_timeout=10 in_container systemctl is-system-running)
    [ "$state" = running ] || [ "$state" = degraded ]
}
if ! wait_until 90 system_state; then
    tail -40 "$work/console.log"
    skip "systemd in the container did not finish booting within 90 s (state: $(command_timeout=10 in_container systemctl is-system-running 2>&1))"
fi
note "container booted, leader PID $leader, state $(in_container systemctl is-system-running)"
in_container systemctl --failed --no-legend
step_ok boot

# MARK: Harness and unit files

if in_container systemctl start notify-probe.service &&
    [ "$(property notify-probe.service StatusText)" = "probe ready" ]; then
    step_ok harness-notify
else
    step_fail harness-notify "a plain Type=notify service did not start with its STATUS= text (see $log)"
fi
in_container systemctl stop notify-probe.service

enabled=$(in_container systemctl is-enabled gatewayd.service)
active=$(property gatewayd.service ActiveState)
if [ "$enabled" = disabled ] && [ "$active" = inactive ]; then
    step_ok not-enabled
else
    step_fail not-enabled "after installation gatewayd.service is '$enabled' and '$active', expected disabled and inactive"
fi

if output=$(in_container systemd-analyze verify /lib/systemd/system/gatewayd.service /lib/systemd/system/gatewayd.socket 2>&1) &&
    [ -z "$output" ]; then
    step_ok verify
else
    step_fail verify "systemd-analyze verify: $(echo "$output" | tr '\n' ' ')"
fi

in_container systemd-analyze security --no-pager gatewayd.service >"$work/security.txt" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for gatewayd.service: \([0-9.]*\).*/\1/p' "$work/security.txt")
note "systemd-analyze security: exposure $exposure"
if [ -n "$exposure" ] && awk -v value="$exposure" 'BEGIN { exit !(value <= 3.0) }'; then
    step_ok security
else
    step_fail security "exposure '$exposure' is not at most 3.0 (see $work/security.txt)"
fi

# MARK: gatewayd.service

# Prints the HTTP status of GET PATH over TLS with the client certificate, and with the
# bound token unless the second argument is "no-token".
request() {
    local path=$1 token_mode=${2:-token}
    local arguments=(-sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert /etc/gateway/server.pem
        --cert /root/client.pem --key /root/client.key)
    [ "$token_mode" = token ] && arguments+=(-H "Authorization: Bearer $(cat "$root/root/token")")
    in_container curl "${arguments[@]}" "https://127.0.0.1$path"
}
serves() { [ "$(request /api/data)" = 200 ]; }
main_pid() { property gatewayd.service MainPID; }
is_running() { [ "$(property gatewayd.service ActiveState)/$(property gatewayd.service SubState)" = active/running ]; }
journal() { in_container journalctl --no-pager -o short-monotonic -u gatewayd.service; }

notify=yes
if command_timeout=45 in_container systemctl start gatewayd.service && is_running; then
    step_ok start-notify
else
    notify=no
    result=$(property gatewayd.service Result)
    step_fail start-notify "systemctl start did not reach active/running through READY=1 (Result=$result)"
    in_container systemctl status --no-pager gatewayd.service
    journal | tail -30
    # Without READY=1 the remaining checks still cover the unit, the sandbox and the
    # package. They run with Type=simple and without the watchdog.
    cat >"$root/etc/systemd/system/gatewayd.service.d/test-no-notify.conf" <<'EOF'
[Service]
Type=simple
WatchdogSec=0
EOF
    in_container systemctl daemon-reload
    in_container systemctl reset-failed gatewayd.service
    in_container systemctl start gatewayd.service
fi
note "notify mode: $notify"

wait_until 20 serves
status_text=$(property gatewayd.service StatusText)
note "StatusText: $status_text"
if [ -n "$status_text" ] && in_container systemctl status --no-pager gatewayd.service | grep -qF "Status: \"$status_text\""; then
    step_ok status-text
else
    step_fail status-text "systemctl status shows no STATUS= text from gatewayd"
fi

# /proc/PID belongs to the process's effective user.
user=$(in_container stat -c %U "/proc/$(main_pid)")
with_token=$(request /api/data)
without_token=$(request /api/data no-token)
if [ "$with_token" = 200 ] && [ "$without_token" = 401 ]; then
    step_ok serve-bound-token
else
    step_fail serve-bound-token "GET /api/data returned $with_token with the bound token (expected 200) and $without_token without (expected 401)"
    journal | tail -30
fi
if [ "$user" = gateway ]; then
    step_ok runs-as-gateway
else
    step_fail runs-as-gateway "the main process runs as '$user', expected gateway"
fi

before=$(main_pid)
reloaded() { is_running && serves; }
if in_container systemctl reload gatewayd.service && wait_until 20 reloaded && [ "$(main_pid)" = "$before" ]; then
    step_ok reload
else
    step_fail reload "after systemctl reload: MainPID $before -> $(main_pid), state $(property gatewayd.service ActiveState)/$(property gatewayd.service SubState), GET /api/data $(request /api/data)"
fi

# With JOURNAL_STREAM set, gatewayd prefixes lines with <N> (sd-daemon(3)) and the journal
# stores that priority. "reload requested" is logged at notice (5). Without the prefix it
# would be stored at info (6), the default for standard output (SyslogLevel=).
if in_container journalctl --no-pager -u gatewayd.service -p notice | grep -q "reload requested"; then
    step_ok journal-priority
else
    step_fail journal-priority "journalctl -p notice shows no 'reload requested' line from gatewayd: no <N> priority prefixes"
fi

before=$(main_pid)
restarted() { local pid; pid=$(main_pid); [ "$pid" != 0 ] && [ "$pid" != "$before" ] && is_running && serves; }
note "kill -9 MainPID $before"
in_container kill -KILL "$before"
if wait_until 30 restarted; then
    step_ok restart-after-kill
else
    step_fail restart-after-kill "after kill -9 of MainPID $before: MainPID $(main_pid), state $(property gatewayd.service ActiveState)/$(property gatewayd.service SubState), NRestarts $(property gatewayd.service NRestarts)"
    journal | tail -20
fi

if [ "$notify" = yes ]; then
    cat >"$root/etc/systemd/system/gatewayd.service.d/test-watchdog.conf" <<'EOF'
[Service]
WatchdogSec=4s
EOF
    in_container systemctl daemon-reload
    command_timeout=60 in_container systemctl restart gatewayd.service
    wait_until 20 serves
    before=$(main_pid)
    # A stopped supervisor sends no WATCHDOG=1, so systemd aborts it (SIGABRT, then
    # SIGCONT) and Restart=on-failure starts a new one.
    in_container kill -STOP "$before"
    note "kill -STOP MainPID $before"
    if wait_until 40 restarted && journal | grep -q "Watchdog timeout"; then
        journal | grep -i "watchdog" | tail -3
        step_ok watchdog
    else
        step_fail watchdog "after kill -STOP of MainPID $before with WatchdogSec=4s: MainPID $(main_pid), state $(property gatewayd.service ActiveState)/$(property gatewayd.service SubState)"
        journal | tail -20
    fi
    rm "$root/etc/systemd/system/gatewayd.service.d/test-watchdog.conf"
    in_container systemctl daemon-reload
else
    step_fail watchdog "not run: gatewayd did not send READY=1, so it sends no WATCHDOG=1 either"
fi

if command_timeout=60 in_container systemctl stop gatewayd.service; then
    state=$(property gatewayd.service ActiveState)
    result=$(property gatewayd.service Result)
    status=$(property gatewayd.service ExecMainStatus)
    if [ "$state" = inactive ] && [ "$result" = success ] && [ "$status" = 0 ]; then
        step_ok stop
    else
        step_fail stop "after systemctl stop: ActiveState=$state Result=$result ExecMainStatus=$status"
    fi
else
    step_fail stop "systemctl stop failed or timed out"
fi
journal | tail -15

# MARK: gatewayd.socket

mkdir -p "$root/etc/systemd/system/gatewayd.socket.d"
cat >"$root/etc/systemd/system/gatewayd.socket.d/test-address.conf" <<'EOF'
[Socket]
ListenStream=
ListenStream=127.0.0.1:443
EOF
in_container systemctl daemon-reload
# Listening TCP sockets on 127.0.0.1:443 (state 0A in /proc/net/tcp).
listeners() { in_container cat /proc/net/tcp | awk '$2 == "0100007F:01BB" && $4 == "0A"' | wc -l; }
if in_container systemctl start gatewayd.socket; then
    code=$(request /api/data)
    activated() { is_running && serves; }
    wait_until 20 activated
    code=$(request /api/data)
    count=$(listeners)
    if [ "$code" = 200 ] && is_running && [ "$count" = 1 ]; then
        step_ok socket-activation
    else
        step_fail socket-activation "through gatewayd.socket: GET /api/data $code, service $(property gatewayd.service ActiveState)/$(property gatewayd.service SubState), $count listening sockets on 127.0.0.1:443 (expected 1: the passed one)"
        journal | tail -20
    fi
else
    step_fail socket-activation "systemctl start gatewayd.socket failed"
fi
command_timeout=60 in_container systemctl stop gatewayd.socket gatewayd.service

# MARK: Removal

if command_timeout=120 in_container dpkg --purge gateway; then
    problems=()
    for path in usr/bin/gatewayd lib/systemd/system/gatewayd.service etc/gateway; do
        [ -e "$root/$path" ] && problems+=("/$path still exists")
    done
    load=$(property gatewayd.service LoadState)
    [ "$load" = not-found ] || problems+=("gatewayd.service LoadState is '$load'")
    if [ ${#problems[@]} -eq 0 ]; then step_ok purge; else step_fail purge "${problems[*]}"; fi
else
    step_fail purge "dpkg --purge gateway failed"
fi

note "$failures failed steps"
[ "$failures" -eq 0 ]
