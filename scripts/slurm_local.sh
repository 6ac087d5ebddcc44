#!/usr/bin/env bash
# Single-node SLURM cluster on localhost, for testing the `profiles/slurm`
# Snakemake profile against real daemons (munged, slurmctld, slurmd) and a
# real sbatch/squeue instead of mocks.
#
# Usage: scripts/slurm_local.sh start|stop|status
#
#   start   install the Debian packages if missing, write the configuration,
#           start the daemons, wait until the node is idle. A second `start`
#           while everything runs is a no-op.
#   stop    cancel any jobs left on this private cluster, then stop the
#           daemons this script started (by their recorded PIDs) and wait
#           for them to exit. Daemons it did not start are left alone.
#   status  show which daemons run and what `sinfo` says; exit 0 when the
#           cluster is up, 3 when it is not.
#
# Must run as root (package install, daemons, /etc/slurm/slurm.conf).
#
# Environment:
#   SLURM_LOCAL_DIR      state, spool, log and PID files [/tmp/initstudy-slurm]
#   SLURM_LOCAL_TIMEOUT  seconds to wait for the node to become idle, and for
#                        daemons to exit on stop [60]
#   SLURM_LOCAL_GPUS     GPUs the node offers as gres "gpu" [number of
#                        /dev/nvidiaN devices]. More than there are devices
#                        gives placeholder GPUs without a device, to test
#                        GPU job submission on CPU-only machines. Read when
#                        the config is written: on a start with no Slurm
#                        daemon running.
#
# This is a throwaway test cluster: the daemons run as root, there is no
# accounting database (slurmdbd), no cgroups. Do not use it on a machine that
# already has a real SLURM configuration: `start` refuses to overwrite an
# /etc/slurm/slurm.conf it did not write.

set -euo pipefail

# The daemons and mungekey live in /usr/sbin, which is not on every PATH
# (e.g. a shell that only activated a virtualenv).
PATH="$PATH:/usr/sbin:/sbin"

STATE_DIR="${SLURM_LOCAL_DIR:-/tmp/initstudy-slurm}"
TIMEOUT="${SLURM_LOCAL_TIMEOUT:-60}"
CLUSTER_NAME="initstudy"
PARTITION="debug"

CONF="$STATE_DIR/slurm.conf"
PID_DIR="$STATE_DIR/pid"
LOG_DIR="$STATE_DIR/log"
# Client commands (sinfo, sbatch, squeue, and the same commands inside jobs
# and inside the Snakemake SLURM plugin) look for /etc/slurm/slurm.conf unless
# SLURM_CONF is set. Installing a copy there makes the cluster usable from
# any shell without extra environment; the marker line lets us recognise (and
# later overwrite or remove) only the file we wrote.
SYSTEM_CONF="/etc/slurm/slurm.conf"
MARKER="# written by initstudy scripts/slurm_local.sh -- safe to delete"
# Everything this script runs uses our file directly. The daemons need this in
# the environment, not just `-f`: slurmd looks for gres.conf next to
# $SLURM_CONF (or the compiled-in /etc/slurm), not next to the -f file.
export SLURM_CONF="$CONF"

# munged keeps its Debian default paths: the package created /var/log/munge
# and /var/lib/munge with the ownership and modes munged insists on, and
# libmunge clients (slurm) look for the socket in /run/munge by default.
MUNGE_RUN_DIR="/run/munge"
MUNGE_KEY="/etc/munge/munge.key"
MUNGED_SYSTEM_PIDFILE="$MUNGE_RUN_DIR/munged.pid"

log() { printf '[slurm_local] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (installs packages and starts daemons)"
}

# ---------------------------------------------------------------------------
# PID bookkeeping. A PID file under $PID_DIR means "this script started that
# daemon". Before trusting a recorded PID we check the process name too, so a
# recycled PID of an unrelated process is never signalled.
# ---------------------------------------------------------------------------
pid_of() {  # pid_of NAME -> prints the recorded PID if that daemon is alive
    local name=$1 file="$PID_DIR/$1.pid" pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm ]] || return 1
    # /proc/PID/comm is truncated to 15 characters; all our names are shorter.
    [[ $(<"/proc/$pid/comm") == "$name" ]] || return 1
    printf '%s\n' "$pid"
}

is_running() { pid_of "$1" >/dev/null; }

wait_for_pidfile() {  # wait_for_pidfile FILE: daemons write it after forking
    local file=$1 i
    for ((i = 0; i < 50; i++)); do
        [[ -s $file ]] && return 0
        sleep 0.2
    done
    return 1
}

tail_logs() {
    local f
    for f in "$LOG_DIR"/slurmctld.log "$LOG_DIR"/slurmd.log /var/log/munge/munged.log; do
        [[ -f $f ]] || continue
        log "---- last lines of $f ----"
        tail -n 25 "$f" >&2 || true
    done
}

# ---------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------
install_packages() {
    local missing=0 cmd
    for cmd in slurmctld slurmd sbatch squeue sinfo munged mungekey; do
        command -v "$cmd" >/dev/null 2>&1 || missing=1
    done
    ((missing)) || return 0
    command -v apt-get >/dev/null 2>&1 || die "SLURM is not installed and apt-get is unavailable"
    log "installing slurmctld slurmd slurm-client munge (apt-get)"
    # Lock::Timeout: other developers may briefly hold the dpkg lock; wait for
    # it instead of failing. The package lists may be missing on a fresh
    # image, so on failure refresh them once and retry.
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -y --no-install-recommends)
    local pkgs=(slurmctld slurmd slurm-client munge)
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${pkgs[@]}"; then
        log "install failed; running apt-get update and retrying"
        apt-get -o DPkg::Lock::Timeout=300 update
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${pkgs[@]}"
    fi
}

ensure_munge_key() {
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating munge key $MUNGE_KEY"
        install -d -o munge -g munge -m 0700 "$(dirname "$MUNGE_KEY")"
        mungekey --create --keyfile="$MUNGE_KEY"
    fi
    # munged refuses a key that is readable by others or not owned by its user.
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munged() {
    if munge_works; then
        # Either ours from an earlier `start`, or a munged someone else runs
        # (then it is not recorded and `stop` leaves it alone).
        is_running munged || log "using an already running munged (not started by this script)"
        return 0
    fi
    ensure_munge_key
    # Nothing creates /run/munge without systemd (it lives on a tmpfs).
    install -d -o munge -g munge -m 0755 "$MUNGE_RUN_DIR"
    # The package creates these with the modes munged checks for; only fill
    # them in if someone removed them.
    [[ -d /var/log/munge ]] || install -d -o munge -g munge -m 0700 /var/log/munge
    [[ -d /var/lib/munge ]] || install -d -o munge -g munge -m 0711 /var/lib/munge
    rm -f "$MUNGED_SYSTEM_PIDFILE"
    log "starting munged"
    # munged is meant to run as the unprivileged `munge` user (as the Debian
    # systemd unit does); it forks into the background and writes its PID.
    # 9>&-: do not hand the start/stop lock (see lock()) to the daemon.
    runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGED_SYSTEM_PIDFILE" 9>&-
    wait_for_pidfile "$MUNGED_SYSTEM_PIDFILE" || { tail_logs; die "munged did not write $MUNGED_SYSTEM_PIDFILE"; }
    cp "$MUNGED_SYSTEM_PIDFILE" "$PID_DIR/munged.pid"
    munge_works || { tail_logs; die "munged started but 'munge -n | unmunge' fails"; }
}

check_foreign_config() {
    if [[ -e $SYSTEM_CONF ]] && ! grep -qxF "$MARKER" "$SYSTEM_CONF"; then
        die "$SYSTEM_CONF exists and was not written by this script; refusing to replace a real SLURM configuration"
    fi
}

write_config() {
    check_foreign_config
    local host node_line
    host=$(hostname -s)
    # `slurmd -C` prints this machine's real CPU/socket/core/memory layout as
    # a NodeName line; a node configured with more than it has would be
    # drained. Its second line (UpTime=...) is not a config keyword.
    node_line=$(slurmd -C | grep '^NodeName=' | sed 's/ *UpTime=.*//')
    [[ $node_line == "NodeName=$host "* ]] || die "unexpected 'slurmd -C' output: $node_line"

    # GPUs as a generic resource ("gres"), so that jobs submitted with
    # --gpus=N (what the Snakemake plugin makes of `resources: gpu=N`) are
    # accepted and scheduled one GPU at a time.
    local devices=(/dev/nvidia[0-9]*) ndev gpus gres_types=""
    [[ -e ${devices[0]} ]] && ndev=${#devices[@]} || ndev=0
    gpus=${SLURM_LOCAL_GPUS:-$ndev}
    [[ $gpus =~ ^[0-9]+$ ]] || die "SLURM_LOCAL_GPUS must be a number, got '$gpus'"
    rm -f "$STATE_DIR/gres.conf"
    if ((gpus > 0)); then
        gres_types="GresTypes=gpu"
        node_line+=" Gres=gpu:$gpus"
        # slurmd reads gres.conf from next to $SLURM_CONF (exported above).
        if ((ndev >= gpus)); then
            echo "NodeName=$host Name=gpu File=/dev/nvidia[0-$((gpus - 1))]" >"$STATE_DIR/gres.conf"
        else
            # Fewer device files than requested (e.g. a CPU-only test
            # machine): placeholder GPUs, so GPU jobs can be scheduled and
            # their submission tested; the jobs find no usable device. slurmd
            # ignores GPUs without a File= and insists the file is a device,
            # so use links to /dev/null whose names carry the index (nvidiaN)
            # the way GPU device nodes do.
            log "advertising $gpus placeholder GPU(s) without devices (only $ndev /dev/nvidiaN present)"
            mkdir -p "$STATE_DIR/fake-gpu"
            local i
            for ((i = 0; i < gpus; i++)); do ln -sfn /dev/null "$STATE_DIR/fake-gpu/nvidia$i"; done
            echo "NodeName=$host Name=gpu File=$STATE_DIR/fake-gpu/nvidia[0-$((gpus - 1))]" >"$STATE_DIR/gres.conf"
        fi
    fi

    cat >"$CONF.tmp" <<EOF
$MARKER
# Single-node test cluster for initstudy; regenerated on every start.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$host
# The daemons run as root: no service-user permissions to manage for a
# throwaway cluster.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$PID_DIR/slurmctld.pid
SlurmdPidFile=$PID_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups here: track job processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: sacct cannot work. Snakemake's SLURM plugin must therefore
# poll with squeue, which only sees jobs slurmctld still remembers; keep
# finished jobs for an hour. (The plugin wants MinJobAge >= 3x
# slurm-init-seconds-before-status-checks, and it must outlast the plugin's
# longest gap between two checks, 180 s.)
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=3600
# Schedule cores and memory as consumables so several small jobs share the
# node; a job without --mem gets DefMemPerCPU per CPU, not the whole node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# A node that went DOWN (e.g. slurmd restarted) comes back by itself once it
# registers with a valid configuration.
ReturnToService=2
MpiDefault=none
# Short grace period between SIGTERM and SIGKILL for cancelled/timed-out jobs.
KillWait=5
# No mail server here; silences "Configured MailProg is invalid".
MailProg=/bin/true
$gres_types
$node_line
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
    install -d -m 0755 "$(dirname "$SYSTEM_CONF")"
    cp "$CONF" "$SYSTEM_CONF"
}

start_slurm_daemon() {  # start_slurm_daemon NAME
    local name=$1
    is_running "$name" && return 0
    rm -f "$PID_DIR/$name.pid"
    log "starting $name"
    # Both daemons fork into the background themselves and write the PID
    # files configured above (Slurm{ctld,d}PidFile in $PID_DIR).
    local args=(-f "$CONF")
    # slurmctld otherwise restores saved state, including a node that was
    # DRAINED or DOWN with its old reason (e.g. from an earlier, wrong
    # configuration) -- which ReturnToService does not undo. Every `start` of
    # this throwaway cluster is a clean one (`stop` cancels all jobs anyway);
    # job IDs still continue where they left off.
    [[ $name == slurmctld ]] && args+=(-c)
    if ! "/usr/sbin/$name" "${args[@]}" 9>&-; then
        tail_logs
        die "$name failed to start"
    fi
    wait_for_pidfile "$PID_DIR/$name.pid" || { tail_logs; die "$name did not write its PID file"; }
    sleep 0.5
    is_running "$name" || { tail_logs; die "$name exited right after starting"; }
}

node_state() {
    sinfo --noheader --nodes="$(hostname -s)" --format='%t' 2>/dev/null | head -n 1
}

wait_until_idle() {
    local deadline=$((SECONDS + TIMEOUT)) state=""
    while ((SECONDS < deadline)); do
        state=$(node_state || true)
        # idle, or busy if jobs were submitted in the meantime. A "*" suffix
        # means slurmctld has not heard from slurmd yet: keep waiting.
        case $state in
            idle | mix | alloc | comp) return 0 ;;
            # The controller rejected the node (e.g. it reports fewer CPUs,
            # memory or GPUs than configured); waiting will not fix that.
            inval* | drain* | drng*)
                tail_logs
                sinfo --list-reasons >&2 || true
                die "node is '$state' (see reason above); fix the configuration in $CONF and restart"
                ;;
        esac
        for d in slurmctld slurmd; do
            is_running "$d" || { tail_logs; die "$d died while waiting for the node (state: '${state:-none}')"; }
        done
        sleep 1
    done
    tail_logs
    die "node did not become idle within ${TIMEOUT}s (last state: '${state:-none}'); see logs above and $LOG_DIR"
}

cmd_start() {
    require_root
    install_packages
    check_foreign_config
    mkdir -p "$STATE_DIR/state" "$STATE_DIR/spool" "$PID_DIR" "$LOG_DIR"
    chmod 0755 "$STATE_DIR"

    if is_running slurmctld && is_running slurmd && munge_works; then
        log "already running (state dir $STATE_DIR)"
        wait_until_idle
        return 0
    fi

    start_munged
    # Only (re)write the configuration when no Slurm daemon of ours runs, so a
    # half-running cluster is completed with the configuration it started with.
    if ! is_running slurmctld && ! is_running slurmd; then
        write_config
    fi
    start_slurm_daemon slurmctld
    start_slurm_daemon slurmd
    wait_until_idle
    log "cluster '$CLUSTER_NAME' is up: partition '$PARTITION', node $(hostname -s), state dir $STATE_DIR"
}

# ---------------------------------------------------------------------------
# stop
# ---------------------------------------------------------------------------
stop_daemon() {  # stop_daemon NAME
    local name=$1 pid deadline
    if ! pid=$(pid_of "$name"); then
        rm -f "$PID_DIR/$name.pid"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + TIMEOUT))
    while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if [[ -e /proc/$pid ]]; then
        log "$name (pid $pid) ignored SIGTERM for ${TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while [[ -e /proc/$pid ]]; do sleep 0.2; done
    fi
    rm -f "$PID_DIR/$name.pid"
}

unfinished_jobs() {  # job ids that still hold (or wait for) resources
    squeue --noheader --states=PENDING,RUNNING,SUSPENDED,COMPLETING --format=%i 2>/dev/null || true
}

cancel_all_jobs() {
    # slurmstepd (the per-job process) is not a child slurmd waits for, so
    # stopping the daemons would leave running jobs behind as orphans. This
    # cluster is private to this script, so every job on it is ours.
    is_running slurmctld || return 0
    local jobs deadline
    mapfile -t jobs < <(unfinished_jobs)
    ((${#jobs[@]})) || return 0
    log "cancelling jobs still on the cluster: ${jobs[*]}"
    scancel "${jobs[@]}" 2>/dev/null || true
    deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        mapfile -t jobs < <(unfinished_jobs)
        ((${#jobs[@]})) || return 0
        sleep 1
    done
    log "jobs still listed after ${TIMEOUT}s (stopping anyway): ${jobs[*]}"
}

cmd_stop() {
    require_root
    cancel_all_jobs
    # slurmd first so it does not spend the shutdown retrying a vanished
    # controller; munged last because both Slurm daemons authenticate with it.
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
    if [[ -f $SYSTEM_CONF ]] && grep -qxF "$MARKER" "$SYSTEM_CONF"; then
        rm -f "$SYSTEM_CONF"
    fi
    log "stopped (logs kept in $LOG_DIR)"
}

# ---------------------------------------------------------------------------
# status
# ---------------------------------------------------------------------------
cmd_status() {
    local up=1 d pid
    for d in munged slurmctld slurmd; do
        if pid=$(pid_of "$d"); then
            echo "$d: running (pid $pid)"
        elif [[ $d == munged ]] && munge_works; then
            echo "$d: running (not started by this script)"
        else
            echo "$d: not running"
            up=0
        fi
    done
    if ((up)); then
        sinfo || up=0
    fi
    ((up)) && return 0
    return 3
}

# Serialise start/stop: two test sessions starting the cluster at once would
# otherwise both launch daemons.
lock() {
    require_root
    mkdir -p "$(dirname "$STATE_DIR")"
    exec 9>>"$STATE_DIR.lock"
    flock -n 9 || { log "waiting for another slurm_local.sh start/stop to finish"; flock 9; }
}

case "${1:-}" in
    start) lock && cmd_start ;;
    stop) lock && cmd_stop ;;
    status) cmd_status ;;
    *) usage ;;
esac
