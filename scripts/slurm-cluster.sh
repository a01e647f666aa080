#!/usr/bin/env bash
# A real single-host Slurm cluster for tests and trials (Debian 12, Slurm 22.05, as root):
# munged, a private MariaDB, slurmdbd (so `sacct` works), slurmctld and slurmd, all on this machine.
#
#   scripts/slurm-cluster.sh install   # apt-get install the packages if missing (idempotent)
#   scripts/slurm-cluster.sh start     # install if needed, configure, start; waits until `sinfo` shows the node idle
#   scripts/slurm-cluster.sh status    # exit 0 when every daemon it started is alive and the node answers, else 3
#   scripts/slurm-cluster.sh stop      # cancels the cluster's jobs, then stops exactly the PIDs `start` recorded
#
# Everything it starts is recorded in $GROWLAB_SLURM_STATE (default /tmp/growlab-slurm): <daemon>.pid, logs, the
# controller's state, the database files. `stop` kills only those PIDs (never by name) and leaves a munged or a database
# it found already running alone. The Slurm config goes where the client commands look for it, /etc/slurm/slurm.conf
# (and slurmdbd.conf), marked as written by this script; a slurm.conf without that mark (a real cluster's) is never
# overwritten: `start` refuses instead.
#
# The cluster: one node (this host, `nproc` CPUs, the memory `slurmd -C` measures), select/cons_tres with CR_Core (a
# job gets the CPUs it asks for), task/none (no binding: a job sees every core, so a stage limits its own threads),
# proctrack/linuxproc, batch_sched_delay=0 (a batch job starts within ≈ 1 s instead of up to 3 s), KillWait=10,
# MinJobAge=30 (finished jobs leave `scontrol show job` after 30 s; `sacct` keeps them), and two partitions on the
# node: `cpu` (default) and `urgent`, a higher priority tier whose jobs preempt `cpu` jobs (PreemptMode=CANCEL), so
# tests can see a real PREEMPTED job. Job accounting: accounting_storage/slurmdbd with a private MariaDB on 127.0.0.1
# (a free port), because `sacct` reads only slurmdbd (Slurm 22.05 has no file-based accounting storage); the job
# completion log (jobcomp/filetxt) is written too: $GROWLAB_SLURM_STATE/jobcomp.log.
set -euo pipefail

STATE="${GROWLAB_SLURM_STATE:-/tmp/growlab-slurm}"
CLUSTER=growlab
MARK="# written by growlab scripts/slurm-cluster.sh"
CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
PACKAGES=(slurm-wlm munge slurmdbd mariadb-server)
HOST="$(hostname -s)"

say() { echo "[slurm-cluster] $*"; }
die() { echo "[slurm-cluster] error: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -f "$STATE/$1.pid" ] && cat "$STATE/$1.pid" || true; }

# A daemon that writes its own pidfile: wait for the file, then record that PID as ours.
wait_pidfile() { # name file
  local i
  for i in $(seq 1 100); do
    if [ -s "$2" ] && pid_alive "$(cat "$2")"; then cp "$2" "$STATE/$1.pid"; return 0; fi
    sleep 0.1
  done
  die "$1 did not start (no live PID in $2); see its log in $STATE"
}

installed() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
  done
  command -v sbatch >/dev/null && command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null
}

install() {
  need_root
  if installed; then say "packages present (${PACKAGES[*]})"; return 0; fi
  command -v apt-get >/dev/null || die "apt-get not found: this script installs Debian's slurm-wlm, munge, slurmdbd and mariadb-server"
  say "installing ${PACKAGES[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >"/tmp/growlab-slurm-apt.log" 2>&1; then
    apt-get update -qq >>"/tmp/growlab-slurm-apt.log" 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >>"/tmp/growlab-slurm-apt.log" 2>&1 \
      || { tail -20 /tmp/growlab-slurm-apt.log >&2; die "apt-get install ${PACKAGES[*]} failed (log: /tmp/growlab-slurm-apt.log)"; }
  fi
  installed || die "packages installed but sbatch/slurmdbd/mariadbd still missing"
}

node_answers() { sinfo -h -n "$HOST" -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }

all_alive() {
  local d
  for d in munged mariadbd slurmdbd slurmctld slurmd; do
    if [ -f "$STATE/$d.external" ]; then continue; fi
    pid_alive "$(pid_of "$d")" || return 1
  done
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 755 /run/munge
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if pid_alive "$(pid_of munged)"; then return 0; fi
    say "munged already running (not started by this script; left alone)"
    touch "$STATE/munged.external"
    return 0
  fi
  rm -f "$STATE/munged.external" /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  wait_pidfile munged /run/munge/munged.pid
  munge -n | unmunge >/dev/null || die "munge does not work (munge -n | unmunge)"
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start_mariadb() {
  local db="$STATE/mysql"
  if pid_alive "$(pid_of mariadbd)"; then return 0; fi
  if [ ! -d "$db/mysql" ]; then
    rm -rf "$db" && mkdir -p "$db"
    mariadb-install-db --user=root --datadir="$db" --skip-test-db --auth-root-authentication-method=socket \
      >"$STATE/mariadb-install.log" 2>&1 || { tail -20 "$STATE/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  fi
  local port; port="$(free_port)"
  echo "$port" >"$STATE/mariadb.port"
  # setsid + nohup: the database outlives the shell (and the test process) that started it
  setsid nohup /usr/sbin/mariadbd --no-defaults --user=root --datadir="$db" --socket="$STATE/mysql.sock" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$STATE/mariadbd.pidfile" \
    --log-error="$STATE/mariadbd.log" --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 \
    --skip-log-bin </dev/null >/dev/null 2>&1 &
  echo $! >"$STATE/mariadbd.pid"
  local i
  for i in $(seq 1 150); do
    if mariadb --no-defaults --socket="$STATE/mysql.sock" -u root -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    pid_alive "$(pid_of mariadbd)" || { tail -20 "$STATE/mariadbd.log" >&2; die "mariadbd exited"; }
    sleep 0.1
  done
  mariadb --no-defaults --socket="$STATE/mysql.sock" -u root -e \
    "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'growlab-slurm';
     GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" \
    || die "could not create the slurm database user (log: $STATE/mariadbd.log)"
}

write_conf() {
  local f
  for f in "$CONF" "$DBD_CONF"; do
    if [ -f "$f" ] && ! grep -qF "$MARK" "$f"; then
      die "$f exists and was not written by this script (a real cluster's config?): not touching it"
    fi
  done
  local mem; mem="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
  [ -n "$mem" ] || die "slurmd -C did not report RealMemory"
  local cpus; cpus="$(nproc)"
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/slurmd"
  cat >"$CONF" <<EOF
$MARK (single-host test cluster; state in $STATE)
ClusterName=$CLUSTER
SlurmctldHost=$HOST
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
# start a submitted batch job at the next scheduler pass (≈ 1 s) instead of up to 3 s later (the default)
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pidfile
SlurmdPidFile=$STATE/slurmd.pidfile
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ReturnToService=2
MinJobAge=30
KillWait=10
InactiveLimit=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes=$HOST MaxTime=INFINITE State=UP PriorityTier=2
EOF
  cat >"$DBD_CONF" <<EOF
$MARK (single-host test cluster; state in $STATE)
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$STATE/slurmdbd.pidfile
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$(cat "$STATE/mariadb.port")
StorageUser=slurm
StoragePass=growlab-slurm
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$DBD_CONF"
}

start_slurmdbd() {
  if pid_alive "$(pid_of slurmdbd)"; then return 0; fi
  rm -f "$STATE/slurmdbd.pidfile"
  /usr/sbin/slurmdbd
  wait_pidfile slurmdbd "$STATE/slurmdbd.pidfile"
  local i
  for i in $(seq 1 100); do
    sacctmgr -n list cluster >/dev/null 2>&1 && break
    sleep 0.1
  done
  if ! sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed (log: $STATE/slurmdbd.log)"
  fi
}

start_slurm() {
  if ! pid_alive "$(pid_of slurmctld)"; then
    rm -f "$STATE/slurmctld.pidfile"
    /usr/sbin/slurmctld
    wait_pidfile slurmctld "$STATE/slurmctld.pidfile"
  fi
  if ! pid_alive "$(pid_of slurmd)"; then
    rm -f "$STATE/slurmd.pidfile"
    /usr/sbin/slurmd
    wait_pidfile slurmd "$STATE/slurmd.pidfile"
  fi
  local i
  for i in $(seq 1 300); do
    if node_answers; then return 0; fi
    sleep 0.2
  done
  sinfo >&2 || true
  die "the node did not become idle within 60 s (logs: $STATE/slurmctld.log, $STATE/slurmd.log)"
}

start() {
  need_root
  install
  mkdir -p "$STATE"
  if all_alive && node_answers; then say "already running (state in $STATE)"; return 0; fi
  local t0; t0=$(date +%s)
  start_munge
  start_mariadb
  write_conf
  start_slurmdbd
  start_slurm
  say "up in $(( $(date +%s) - t0 )) s: node $HOST idle, partitions cpu (default) and urgent; state in $STATE"
}

stop_pids() { # names: SIGTERM to each recorded PID, then wait for all (SIGKILL after 15 s)
  local d pid pids=()
  for d in "$@"; do
    pid="$(pid_of "$d")"
    if pid_alive "$pid"; then kill "$pid"; pids+=("$pid"); fi
    rm -f "$STATE/$d.pid"
  done
  local i
  for i in $(seq 1 150); do
    local alive=0
    for pid in ${pids[@]+"${pids[@]}"}; do pid_alive "$pid" && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    if pid_alive "$pid"; then say "pid $pid still alive after 15 s: SIGKILL"; kill -9 "$pid" || true; fi
  done
}

stop() {
  need_root
  [ -d "$STATE" ] || { say "not running (no $STATE)"; return 0; }
  # jobs first, so that no job's processes (slurmstepd and its children) outlive the daemons
  if pid_alive "$(pid_of slurmctld)"; then
    local jobs; jobs="$(squeue -h -o %i 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
      say "cancelling jobs: $(echo $jobs)"
      # shellcheck disable=SC2086
      scancel $jobs || true
      local i
      for i in $(seq 1 150); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
    fi
  fi
  # the controller flushes job records to slurmdbd, which writes them to the database, which needs nothing
  stop_pids slurmd slurmctld
  stop_pids slurmdbd
  if [ -f "$STATE/munged.external" ]; then rm -f "$STATE/munged.external"; stop_pids mariadbd; else stop_pids mariadbd munged; fi
  say "stopped"
}

status() {
  local d code=0
  for d in munged mariadbd slurmdbd slurmctld slurmd; do
    if [ -f "$STATE/$d.external" ]; then echo "$d: running, not started by this script"; continue; fi
    local pid; pid="$(pid_of "$d")"
    if pid_alive "$pid"; then echo "$d: running (pid $pid)"; else echo "$d: not running"; code=3; fi
  done
  if [ $code = 0 ] && node_answers; then sinfo; else code=3; fi
  return $code
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/slurm-cluster.sh install|start|stop|status" >&2; exit 2 ;;
esac
