#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller) for setupmon.
#
# The broker jars come from Maven Central, pinned by deploy/kafka/pom.xml, and are
# cached in $KAFKA_HOME_DIR/lib (re-fetched only when pom.xml changes).
#
# Usage: deploy/kafka/kafka.sh {up|down|status|fetch}
#   fetch   download the pinned broker jars (no-op when cached)
#   up      fetch, format KRaft storage once, start the broker, wait until it answers
#   down    stop the broker (SIGTERM, up to 30 s, then SIGKILL)
#   status  print whether it runs; exit 0 if running, 1 if not
#
# Environment (defaults):
#   KAFKA_PORT=9092              client listener, 127.0.0.1 only
#   KAFKA_CONTROLLER_PORT=9093   KRaft controller listener, 127.0.0.1 only
#   KAFKA_HOME_DIR=<repo>/.cache/kafka   cached jars (lib/) + stamp
#   KAFKA_DATA_DIR=<repo>/.data/kafka    config, pid file, logs, topic data
#   KAFKA_HEAP="-Xms256m -Xmx768m"       JVM heap (-Xmx must be <= 1 GiB)
#   KAFKA_START_TIMEOUT=60       seconds `up` waits for the broker
#   KAFKA_STOP_TIMEOUT=30        seconds `down` waits before SIGKILL
#   MVN=mvn, JAVA=java           tools to use
#   KAFKA_SECURE=0               1: a secured broker (deploy/kafka/secure.sh): SASL_SSL with
#                                SCRAM-SHA-512 on KAFKA_PORT, ACLs (StandardAuthorizer, deny
#                                when no ACL matches), a CA, broker certificate and admin
#                                password generated into KAFKA_DATA_DIR/tls and .../secrets
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"
POM="$SCRIPT_DIR/pom.xml"
LOG4J2_CONFIG="$SCRIPT_DIR/log4j2.xml"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$REPO_DIR/.cache/kafka}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_DIR/.data/kafka}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
MVN="${MVN:-mvn}"
JAVA="${JAVA:-java}"
KAFKA_SECURE="${KAFKA_SECURE:-0}"

HOST=127.0.0.1
LIB_DIR="$KAFKA_HOME_DIR/lib"
STAMP_FILE="$KAFKA_HOME_DIR/lib.stamp"
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
RUN_FILE="$KAFKA_DATA_DIR/kafka.run"          # ports of the running broker
PROPS_FILE="$KAFKA_DATA_DIR/server.properties"
CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster.id"
LOG_DIRS="$KAFKA_DATA_DIR/kraft-combined-logs"
APP_LOG_DIR="$KAFKA_DATA_DIR/logs"
OUT_LOG="$KAFKA_DATA_DIR/kafka.out"           # stdout/stderr of the JVM (WARN+ and lifecycle)
MODE_FILE="$KAFKA_DATA_DIR/mode"              # plain or secure: how the storage was formatted
TLS_DIR="$KAFKA_DATA_DIR/tls"                 # secured broker: CA and broker certificate
SECRETS_DIR="$KAFKA_DATA_DIR/secrets"         # secured broker: generated passwords (0600)
SERVER_LOG_OFFSET=0

log() { printf 'kafka.sh: %s\n' "$*"; }
err() { printf 'kafka.sh: error: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# shellcheck source=deploy/kafka/secure.sh
source "$SCRIPT_DIR/secure.sh"  # the secured mode (KAFKA_SECURE=1)

# --- validation -------------------------------------------------------------------

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }

validate() {
    is_port "$KAFKA_PORT" || die "KAFKA_PORT='$KAFKA_PORT' is not a valid port"
    is_port "$KAFKA_CONTROLLER_PORT" || die "KAFKA_CONTROLLER_PORT='$KAFKA_CONTROLLER_PORT' is not a valid port"
    [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] \
        || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both $KAFKA_PORT)"
    [[ "$KAFKA_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be whole seconds"
    [[ "$KAFKA_STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT must be whole seconds"
    [[ "$KAFKA_SECURE" == 0 || "$KAFKA_SECURE" == 1 ]] || die "KAFKA_SECURE must be 0 or 1, got '$KAFKA_SECURE'"
    local opt xmx=""
    for opt in $KAFKA_HEAP; do
        case "$opt" in
            -Xmx*) xmx="${opt#-Xmx}" ;;
            -Xms*|-XX:*) ;;
            *) die "KAFKA_HEAP may only hold -Xms/-Xmx/-XX options, got '$opt'" ;;
        esac
    done
    [[ -n "$xmx" ]] || die "KAFKA_HEAP must set -Xmx (at most 1g), got '$KAFKA_HEAP'"
    local bytes
    bytes="$(to_bytes "$xmx")" || die "cannot parse -Xmx$xmx in KAFKA_HEAP"
    (( bytes <= 1073741824 )) || die "KAFKA_HEAP -Xmx$xmx is above the 1 GiB limit"
}

to_bytes() {
    local v="${1,,}" n unit
    [[ "$v" =~ ^([0-9]+)([kmgt]?)$ ]] || return 1
    n="${BASH_REMATCH[1]}"; unit="${BASH_REMATCH[2]}"
    case "$unit" in
        k) n=$(( n * 1024 )) ;;
        m) n=$(( n * 1024 * 1024 )) ;;
        g) n=$(( n * 1024 * 1024 * 1024 )) ;;
        t) n=$(( n * 1024 * 1024 * 1024 * 1024 )) ;;
    esac
    printf '%s' "$n"
}

# --- fetch ------------------------------------------------------------------------

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

lib_is_current() {
    [[ -f "$STAMP_FILE" && -d "$LIB_DIR" ]] || return 1
    [[ "$(cat "$STAMP_FILE")" == "$(pom_hash)" ]] || return 1
    compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_fetch() {
    if lib_is_current; then
        return 0
    fi
    mkdir -p "$KAFKA_HOME_DIR"
    # Serialise concurrent fetches (e.g. two `up`s at once).
    exec 8>"$KAFKA_HOME_DIR/.fetch.lock"
    if command -v flock >/dev/null 2>&1; then flock 8; fi
    if lib_is_current; then
        exec 8>&-
        return 0
    fi
    command -v "$MVN" >/dev/null 2>&1 || die "'$MVN' not found: Maven is needed to fetch the Kafka jars"
    local t0 tmp
    t0="$(now)"
    tmp="$KAFKA_HOME_DIR/lib.tmp.$$"
    rm -rf "$tmp"
    log "fetching Kafka jars (pinned by $POM) into $LIB_DIR ..."
    # Output goes to a log (mvn -q still prints ANSI noise); shown only on failure.
    if ! "$MVN" -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
            -DoutputDirectory="$tmp" >"$KAFKA_HOME_DIR/fetch.log" 2>&1; then
        rm -rf "$tmp"
        tail -n 40 "$KAFKA_HOME_DIR/fetch.log" >&2
        die "mvn could not fetch the Kafka jars (full log: $KAFKA_HOME_DIR/fetch.log)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "mvn ran but no kafka_2.13 jar was copied"; }
    rm -rf "$LIB_DIR"
    mv "$tmp" "$LIB_DIR"
    pom_hash >"$STAMP_FILE"
    exec 8>&-
    log "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars in $(elapsed_since "$t0") s"
}

kafka_version() {
    local j
    j="$(compgen -G "$LIB_DIR/kafka_2.13-*.jar" | head -n1)"
    j="${j##*/kafka_2.13-}"
    printf '%s' "${j%.jar}"
}

# --- process / port helpers -------------------------------------------------------

read_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    [[ -n "$pid" ]] || return 1
    printf '%s' "$pid"
}

# True if $1 is alive and is the broker we started for this data dir.
is_our_broker() {
    local pid="$1" args
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/cmdline" ]]; then
        args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    else
        args="$(ps -p "$pid" -o args= 2>/dev/null)" || return 1
    fi
    [[ "$args" == *kafka.Kafka* && "$args" == *"$PROPS_FILE"* ]]
}

# Running broker's pid (empty + status 1 when none).
running_pid() {
    local pid
    pid="$(read_pid)" || return 1
    is_our_broker "$pid" || return 1
    printf '%s' "$pid"
}

# Something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# The Kafka listener answers an ApiVersions request (v0) with a Kafka response.
# Falls back to a plain TCP connect when python3 is missing.
broker_answers() {
    local port="$1"
    if ! command -v python3 >/dev/null 2>&1; then
        port_open "$port"
        return
    fi
    local cafile=""
    if [[ "$KAFKA_SECURE" == 1 ]]; then cafile="$TLS_DIR/ca.pem"; fi
    python3 - "$HOST" "$port" "$cafile" <<'PY' 2>/dev/null
import socket, ssl, struct, sys
host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    s = socket.create_connection((host, port), timeout=2)
    s.settimeout(2)
    if cafile:  # the secured listener: TLS first (ApiVersions is allowed before SASL)
        s = ssl.create_default_context(cafile=cafile).wrap_socket(s, server_hostname=host)
    client = b"kafka.sh"
    # request header v1: api_key=18 (ApiVersions), api_version=0, correlation_id, client_id
    req = struct.pack(">hhih", 18, 0, 4242, len(client)) + client
    s.sendall(struct.pack(">i", len(req)) + req)
    def recv(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf
    size, = struct.unpack(">i", recv(4))
    corr, error_code = struct.unpack(">ih", recv(size)[:6])
    # 0 = OK; 35 = UNSUPPORTED_VERSION (a future broker dropping v0 still answers).
    sys.exit(0 if corr == 4242 and error_code in (0, 35) else 1)
except Exception:
    sys.exit(1)
PY
}

who_listens() {
    if command -v ss >/dev/null 2>&1; then
        ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' || true
    fi
}

# --- up ---------------------------------------------------------------------------

# What every local single-node broker shares, plain or secured (deploy/kafka/secure.sh).
single_node_properties() {
    cat <<EOF

log.dirs=$LOG_DIRS

# One broker: every internal topic must live with replication factor 1.
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1

# Consumer groups (Faust agents) start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# Faust creates some of its internal topics (changelogs, repartition topics) on first
# use and relies on the broker to auto-create the ones it does not create itself, so
# keep auto-creation on for this dev broker (it is off in many production clusters).
auto.create.topics.enable=true
delete.topic.enable=true

# Small dev footprint.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF
}

write_properties() {
    if [[ "$KAFKA_SECURE" == 1 ]]; then
        write_secure_properties  # deploy/kafka/secure.sh
        return
    fi
    cat >"$PROPS_FILE" <<EOF
# Generated by deploy/kafka/kafka.sh on every 'up' -- edit the script, not this file.
# Single-node KRaft: this process is both broker and controller.
process.roles=broker,controller
node.id=1

listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
# Static voter set (kraft.version 0): nothing port-specific is written into the
# metadata log, so KAFKA_CONTROLLER_PORT can change between runs on the same data dir.
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT

EOF
    single_node_properties >>"$PROPS_FILE"
}

format_storage() {
    if [[ -f "$LOG_DIRS/meta.properties" ]]; then
        return 0
    fi
    local cid
    if [[ -s "$CLUSTER_ID_FILE" ]]; then
        cid="$(cat "$CLUSTER_ID_FILE")"
    else
        cid="$("$JAVA" -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$LOG4J2_CONFIG" \
            -Dkafka.logs.dir="$APP_LOG_DIR" kafka.tools.StorageTool random-uuid | tail -n1)"
        [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not generate a cluster id (got '$cid')"
        printf '%s\n' "$cid" >"$CLUSTER_ID_FILE"
    fi
    log "formatting KRaft storage in $LOG_DIRS (cluster id $cid)"
    local -a extra=()
    # the secured broker's admin user exists from the start (SCRAM credentials live in the
    # metadata log, so only the format step can create the first one)
    if [[ "$KAFKA_SECURE" == 1 ]]; then extra=(--add-scram "$(admin_scram_spec)"); fi
    if ! "$JAVA" -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$LOG4J2_CONFIG" \
            -Dkafka.logs.dir="$APP_LOG_DIR" \
            kafka.tools.StorageTool format --config "$PROPS_FILE" --cluster-id "$cid" \
            --ignore-formatted "${extra[@]}" >"$KAFKA_DATA_DIR/format.out" 2>&1; then
        cat "$KAFKA_DATA_DIR/format.out" >&2
        die "formatting KRaft storage failed"
    fi
    # the secured format's output lists the admin's salted SCRAM keys
    if [[ "$KAFKA_SECURE" == 1 ]]; then chmod 0600 "$KAFKA_DATA_DIR/format.out"; fi
    printf '%s\n' "$(mode_name)" >"$MODE_FILE"
}

# Wait until pid $1 answers on the client port; returns 0 ready, 1 died, 2 timed out.
wait_ready() {
    local pid="$1" port="$2" deadline
    deadline=$(( SECONDS + KAFKA_START_TIMEOUT ))
    while (( SECONDS < deadline )); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if grep -q 'Kafka Server started' "$OUT_LOG" 2>/dev/null && broker_answers "$port"; then
            return 0
        fi
        sleep 0.5
    done
    return 2
}

show_log_tail() {
    err "last 30 lines of $OUT_LOG:"
    tail -n 30 "$OUT_LOG" >&2 2>/dev/null || true
    local server_log="$APP_LOG_DIR/server.log" size
    size="$(stat -c %s "$server_log" 2>/dev/null || echo 0)"
    # Only what this start wrote (server.log is appended to across runs).
    if (( size > SERVER_LOG_OFFSET )); then
        err "last 30 lines written to $server_log by this start:"
        tail -c +"$(( SERVER_LOG_OFFSET + 1 ))" "$server_log" | tail -n 30 >&2 || true
    fi
}

cmd_up() {
    local t0 pid run_port
    t0="$(now)"
    cmd_fetch
    mkdir -p "$KAFKA_DATA_DIR"
    exec 9>"$KAFKA_DATA_DIR/.up.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi

    check_mode
    if pid="$(running_pid)"; then
        run_port="$KAFKA_PORT"
        [[ -f "$RUN_FILE" ]] && run_port="$(sed -n 's/^port=//p' "$RUN_FILE")"
        if [[ "$run_port" != "$KAFKA_PORT" ]]; then
            die "a broker from $KAFKA_DATA_DIR already runs (pid $pid) on port $run_port, not $KAFKA_PORT; run 'down' first"
        fi
        if broker_answers "$KAFKA_PORT"; then
            log "already running (pid $pid, $HOST:$KAFKA_PORT)"
            return 0
        fi
        log "broker pid $pid is alive but not answering yet; waiting up to ${KAFKA_START_TIMEOUT}s"
        if wait_ready "$pid" "$KAFKA_PORT"; then
            log "already running (pid $pid, $HOST:$KAFKA_PORT)"
            return 0
        fi
        show_log_tail
        die "broker pid $pid does not answer on $HOST:$KAFKA_PORT; try 'down' then 'up'"
    fi
    if [[ -f "$PID_FILE" ]]; then
        log "removing stale pid file $PID_FILE (pid $(cat "$PID_FILE" 2>/dev/null || true) is not a running broker)"
        rm -f "$PID_FILE" "$RUN_FILE"
    fi

    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_open "$p"; then
            err "port $HOST:$p is already in use by another process:"
            who_listens "$p" >&2
            die "free port $p or choose others with KAFKA_PORT / KAFKA_CONTROLLER_PORT"
        fi
    done

    command -v "$JAVA" >/dev/null 2>&1 || die "'$JAVA' not found: Java 17+ is needed"
    mkdir -p "$APP_LOG_DIR" "$LOG_DIRS"
    if [[ "$KAFKA_SECURE" == 1 ]]; then make_secrets; fi  # deploy/kafka/secure.sh
    write_properties
    format_storage

    local -a heap
    read -r -a heap <<<"$KAFKA_HEAP"
    : >"$OUT_LOG"
    SERVER_LOG_OFFSET="$(stat -c %s "$APP_LOG_DIR/server.log" 2>/dev/null || echo 0)"
    # setsid: its own session, so a signal to our process group (a Ctrl-C, a CI timeout)
    # does not take the broker down with the command that started it.
    setsid nohup "$JAVA" \
        "${heap[@]}" \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
        -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J2_CONFIG" \
        -Dkafka.logs.dir="$APP_LOG_DIR" \
        -cp "$LIB_DIR/*" \
        kafka.Kafka "$PROPS_FILE" \
        >>"$OUT_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$PID_FILE"
    printf 'port=%s\ncontroller_port=%s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" >"$RUN_FILE"
    log "starting Kafka $(kafka_version) (pid $pid) on $HOST:$KAFKA_PORT, data in $KAFKA_DATA_DIR"

    local rc=0
    wait_ready "$pid" "$KAFKA_PORT" || rc=$?
    case "$rc" in
        0)
            log "Kafka is up on $HOST:$KAFKA_PORT (pid $pid) after $(elapsed_since "$t0") s"
            if [[ "$KAFKA_SECURE" == 1 ]]; then describe_secure; fi
            ;;
        1)
            rm -f "$PID_FILE" "$RUN_FILE"
            show_log_tail
            die "broker process $pid exited during startup"
            ;;
        *)
            show_log_tail
            die "broker (pid $pid) did not answer on $HOST:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s; it is left running, use 'down' to stop it"
            ;;
    esac
}

# --- down / status ----------------------------------------------------------------

cmd_down() {
    local pid
    if ! pid="$(running_pid)"; then
        if [[ -f "$PID_FILE" ]]; then
            log "removing stale pid file $PID_FILE"
            rm -f "$PID_FILE" "$RUN_FILE"
        fi
        log "not running"
        return 0
    fi
    local t0 deadline
    t0="$(now)"
    log "stopping Kafka (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(( SECONDS + KAFKA_STOP_TIMEOUT ))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        err "pid $pid still alive after ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PID_FILE" "$RUN_FILE"
    log "stopped in $(elapsed_since "$t0") s"
}

cmd_status() {
    local pid port="$KAFKA_PORT"
    if pid="$(running_pid)"; then
        [[ -f "$RUN_FILE" ]] && port="$(sed -n 's/^port=//p' "$RUN_FILE")"
        if broker_answers "$port"; then
            log "running (pid $pid, $HOST:$port, data in $KAFKA_DATA_DIR)"
        else
            log "running (pid $pid) but not answering on $HOST:$port (starting or stuck)"
        fi
        return 0
    fi
    log "not running (data dir $KAFKA_DATA_DIR)"
    return 1
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        up)     validate; cmd_up ;;
        down)   cmd_down ;;
        status) cmd_status ;;
        fetch)  cmd_fetch; log "jars for Kafka $(kafka_version) are in $LIB_DIR" ;;
        -h|--help|help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
