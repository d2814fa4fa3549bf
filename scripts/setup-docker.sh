#!/usr/bin/env bash
# Leaves a working Docker engine, both compose CLIs (v1 `docker-compose` and the v2 plugin
# `docker compose`) and stateguard's small local test images.
# Idempotent. With an engine already answering (a GitHub runner, a developer box) it only checks,
# adds a missing compose flavor and builds the images if missing. Otherwise, as root with apt, it
# installs Debian's docker.io, docker-compose (v1) and busybox-static, starts dockerd detached
# (setsid, output to a log file so it never holds the caller's output open) and waits, bounded,
# until it answers.
# No registry is reachable: images are made by `docker import` of a busybox rootfs; never pulled.
#
# When this script starts dockerd it writes its PID to $STATEGUARD_DOCKERD_PIDFILE so the caller
# (.ci/run, the demo) can stop exactly the daemon it started.
#
# --swarm        after all of the above, make the engine a single-node swarm manager. An inactive
#                engine is initialised (`docker swarm init --advertise-addr 127.0.0.1`) and the
#                marker $STATE_DIR/swarm-initialised (holding the new cluster's ID) is written so it
#                can be undone; an engine that already is a swarm manager is left alone, no marker.
# --swarm-leave  undo only what --swarm did: with the marker, leave that swarm (--force), remove
#                docker_gwbridge (bounded retries) and the marker; without it, do nothing.
#                A swarm this script did not create is never left.
set -euo pipefail

STATE_DIR="${STATEGUARD_STATE_DIR:-/tmp/stateguard}"
PIDFILE="${STATEGUARD_DOCKERD_PIDFILE:-$STATE_DIR/dockerd.pid}"
LOGFILE="$STATE_DIR/dockerd.log"
BUSYBOX_IMAGE="stateguard/busybox:1.0.0"
NOSHELL_IMAGE="stateguard/noshell:1.0.0"
mkdir -p "$STATE_DIR"

say() { printf 'setup-docker: %s\n' "$*"; }
die() { printf 'setup-docker: error: %s\n' "$*" >&2; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

SWARM_MARKER="$STATE_DIR/swarm-initialised"
MODE=setup
[ $# -le 1 ] || die "at most one argument (usage: setup-docker.sh [--swarm | --swarm-leave]), got: $*"
case "${1:-}" in
  "") ;;
  --swarm) MODE=swarm ;;
  --swarm-leave) MODE=swarm-leave ;;
  *) die "unknown argument '$1' (usage: setup-docker.sh [--swarm | --swarm-leave])" ;;
esac

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }
swarm_manager() { [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ]; }
swarm_cluster_id() { docker info --format '{{if .Swarm.Cluster}}{{.Swarm.Cluster.ID}}{{end}}' 2>/dev/null; }

# docker_gwbridge can stay busy for a moment after `swarm leave`: bounded retries.
remove_gwbridge() {
  local i
  for i in $(seq 1 10); do
    docker network inspect docker_gwbridge >/dev/null 2>&1 || return 0
    docker network rm docker_gwbridge >/dev/null 2>&1 && { say "removed network docker_gwbridge"; return 0; }
    sleep 1
  done
  docker network inspect docker_gwbridge >/dev/null 2>&1 || return 0
  die "network docker_gwbridge is still in use 10 s after leaving the swarm (see 'docker network inspect docker_gwbridge'); re-run $0 --swarm-leave (the marker $SWARM_MARKER is kept)"
}

# --swarm-leave touches nothing else: no engine start, no compose, no images.
if [ "$MODE" = swarm-leave ]; then
  if [ ! -f "$SWARM_MARKER" ]; then
    say "no marker $SWARM_MARKER: this script did not initialise a swarm here; leaving the engine as it is"
    exit 0
  fi
  engine_up || die "the Docker engine does not answer; cannot leave the swarm recorded in $SWARM_MARKER"
  ours=$(cat "$SWARM_MARKER")
  state=$(swarm_state)
  if [ "$state" = active ] || [ "$state" = pending ] || [ "$state" = error ]; then
    current=$(swarm_cluster_id)
    if [ -n "$ours" ] && [ -n "$current" ] && [ "$current" != "$ours" ]; then
      rm -f "$SWARM_MARKER"
      say "the engine is in another swarm (cluster $current, not $ours that this script created): not leaving it; removed the stale marker"
      exit 0
    fi
    say "leaving the swarm this script initialised (cluster ${ours:-unknown})"
    docker swarm leave --force >/dev/null || die "'docker swarm leave --force' failed; the marker $SWARM_MARKER is kept, re-run $0 --swarm-leave"
  else
    say "swarm already left (state: ${state:-unknown})"
  fi
  remove_gwbridge
  rm -f "$SWARM_MARKER"
  say "swarm left; engine as before --swarm"
  exit 0
fi

# Root runs apt directly; a runner user with passwordless sudo (GitHub's hosted runners) uses sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
  else die "need root (or passwordless sudo) to run: $* — or install it yourself and re-run"
  fi
}

apt_install() {
  command -v apt-get >/dev/null || die "no apt-get here: install $* yourself and re-run"
  if [ ! -f "$STATE_DIR/apt-updated" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive as_root apt-get update -qq >"$STATE_DIR/apt.log" 2>&1 || { tail -20 "$STATE_DIR/apt.log" >&2; die "apt-get update failed"; }
    touch "$STATE_DIR/apt-updated"
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >>"$STATE_DIR/apt.log" 2>&1 \
    || { tail -20 "$STATE_DIR/apt.log" >&2; die "apt-get install $* failed"; }
}

# 1. The engine.
if engine_up; then
  say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')): nothing to start"
else
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker >/dev/null || missing+=(docker.io)
  if [ ${#missing[@]} -gt 0 ]; then apt_install docker.io; fi
  [ "$(id -u)" = 0 ] || die "the Docker engine does not answer and only root can start dockerd here (start it yourself, or run this as root)"
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "dockerd (pid $(cat "$PIDFILE")) is starting; waiting"
  else
    say "starting dockerd in the background (log: $LOGFILE)"
    setsid dockerd >"$LOGFILE" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  fi
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 1
  done
  engine_up || { tail -30 "$LOGFILE" >&2; die "dockerd did not answer within 60 s"; }
  say "engine answers ($(docker version --format '{{.Server.Version}}'))"
fi

# 2. Both compose flavors: v1 (`docker-compose`) and v2 (`docker compose`, the CLI plugin).
# stateguard supports both (STATEGUARD_COMPOSE=auto|v1|v2), so the tests need both to answer.
# Debian 12 packages only v1. Debian 13 (trixie) packages v2 as one self-contained binary that
# needs only libc >= 2.34, so it is fetched from the Debian archive this machine already uses,
# through a private apt directory: the system's apt sources, lists and cache are never touched.
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
V2_SUITE=trixie

# The URI (and its Signed-By keyring) of the apt source that serves this machine's main Debian
# suite (e.g. bookworm, not bookworm-security), from sources.list, *.list and deb822 *.sources.
# Prints "URI KEYRING" (KEYRING may be empty) or nothing.
debian_archive() {
  local codename f
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 0
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v cn="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; key = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          split(line, kv, ":")
          field = tolower(kv[1]); value = substr(line, length(kv[1]) + 2)
          gsub(/^[ \t]+|[ \t]+$/, "", value)
          if (field == "types") types = value
          else if (field == "uris") uris = value
          else if (field == "suites") suites = value
          else if (field == "signed-by") key = value
          else if (field == "enabled") enabled = tolower(value)
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        n = split(suites, s, /[ \t]+/)
        for (j = 1; j <= n; j++) if (s[j] == cn) { split(uris, u, /[ \t]+/); print u[1], (key ~ /^\// ? key : ""); exit }
      }' "$f"
  done | head -n1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    awk -v cn="$codename" '
      $1 != "deb" { next }
      {
        key = ""; i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { if ($i ~ /signed-by=/) key = $i; i++ } if ($i ~ /signed-by=/) key = $i; i++ }
        sub(/.*signed-by=/, "", key); sub(/\]$/, "", key)
        if ($(i + 1) == cn) { print $i, key; exit }
      }' "$f"
  done | head -n1
}

glibc_at_least() { # MAJOR MINOR
  local v
  v=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  [ -n "$v" ] || return 1
  awk -v v="$v" -v want="$1.$2" 'BEGIN { split(v, a, "."); split(want, b, "."); exit !(a[1] > b[1] || (a[1] == b[1] && a[2] >= b[2])) }'
}

install_compose_v2() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "compose v2 ('docker compose') is missing and there is no apt-get/dpkg-deb here: install the docker compose plugin yourself and re-run"
  glibc_at_least 2 34 \
    || die "compose v2 ('docker compose') is missing, and Debian's ${V2_SUITE} build needs glibc >= 2.34 (this machine: $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)): install the docker compose plugin yourself and re-run"
  local source uri key apt_dir opts deb
  source=$(debian_archive)
  uri=${source%% *}
  key=${source#* }
  [ "$key" != "$source" ] || key=""
  [ -n "$uri" ] \
    || die "compose v2 ('docker compose') is missing and no apt source of this machine serves its Debian suite ($(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-unknown}")), so there is no archive to fetch Debian ${V2_SUITE}'s docker-compose from: install the docker compose plugin yourself and re-run"
  [ -n "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$key" ] || die "keyring $key (for $uri) is not readable: install debian-archive-keyring and re-run"
  say "compose v2: fetching Debian ${V2_SUITE}'s docker-compose from $uri (private apt dir; system apt untouched)"
  apt_dir=$(mktemp -d "$STATE_DIR/apt-v2.XXXXXX")
  chmod 755 "$apt_dir"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/download" "$apt_dir/root"
  : >"$apt_dir/status"
  echo "deb [signed-by=$key] $uri $V2_SUITE main" >"$apt_dir/sources.list"
  opts=(-q -o "Dir::State=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "APT::Sandbox::User=root")
  as_root apt-get "${opts[@]}" update >"$STATE_DIR/apt-v2.log" 2>&1 \
    || { tail -20 "$STATE_DIR/apt-v2.log" >&2; as_root rm -rf "$apt_dir"; die "apt-get update of $uri $V2_SUITE failed"; }
  (cd "$apt_dir/download" && as_root apt-get "${opts[@]}" download docker-compose) >>"$STATE_DIR/apt-v2.log" 2>&1 \
    || { tail -20 "$STATE_DIR/apt-v2.log" >&2; as_root rm -rf "$apt_dir"; die "apt-get download docker-compose ($V2_SUITE) failed"; }
  deb=$(ls "$apt_dir"/download/docker-compose_*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || { as_root rm -rf "$apt_dir"; die "apt-get download left no docker-compose_*.deb"; }
  dpkg-deb -x "$deb" "$apt_dir/root"
  [ -x "$apt_dir/root/usr/libexec/docker/cli-plugins/docker-compose" ] \
    || { as_root rm -rf "$apt_dir"; die "$(basename "$deb") has no usr/libexec/docker/cli-plugins/docker-compose"; }
  as_root mkdir -p "$PLUGIN_DIR"
  as_root install -m 755 "$apt_dir/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
  as_root rm -rf "$apt_dir"
  say "compose v2: installed $(basename "$deb") as $PLUGIN_DIR/docker-compose"
}

command -v docker-compose >/dev/null || apt_install docker-compose
docker compose version >/dev/null 2>&1 || install_compose_v2
v2=$(docker compose version --short 2>/dev/null) || die "'docker compose version' does not answer after setup (plugin: $PLUGIN_DIR/docker-compose)"
v1=$(docker-compose version --short 2>/dev/null) \
  || die "'docker-compose version' (compose v1) does not answer after setup; on a distribution whose docker-compose package is v2, install v1 yourself"
say "compose v2: docker compose $v2"
say "compose v1: docker-compose $v1"

# 3. Local images from a static busybox (no registry, never pulled).
find_static_busybox() {
  for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
  done
  return 1
}
image_present() { docker image inspect "$1" >/dev/null 2>&1; }
if image_present "$BUSYBOX_IMAGE" && image_present "$NOSHELL_IMAGE"; then
  say "images $BUSYBOX_IMAGE and $NOSHELL_IMAGE present"
else
  BB=$(find_static_busybox) || { apt_install busybox-static; BB=$(find_static_busybox) || die "no static busybox after installing busybox-static"; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Full image: busybox with every applet linked, so `sh`, `sleep`, `cat`… exist.
  mkdir -p "$work/full/bin" "$work/full/data" "$work/full/tmp" "$work/full/etc"
  cp "$BB" "$work/full/bin/busybox"
  for applet in $("$BB" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$work/full/bin/$applet"
  done
  chmod 1777 "$work/full/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$work/full/etc/passwd"
  tar -C "$work/full" --numeric-owner --owner=0 --group=0 -cf "$work/full.tar" .
  docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' "$work/full.tar" "$BUSYBOX_IMAGE" >/dev/null
  # No-shell image: only the busybox binary, no /bin/sh, for probes that must not need a shell.
  mkdir -p "$work/noshell/bin" "$work/noshell/data" "$work/noshell/tmp"
  cp "$BB" "$work/noshell/bin/busybox"
  chmod 1777 "$work/noshell/tmp"
  tar -C "$work/noshell" --numeric-owner --owner=0 --group=0 -cf "$work/noshell.tar" .
  docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/busybox","sleep","86400"]' "$work/noshell.tar" "$NOSHELL_IMAGE" >/dev/null
  say "built images $BUSYBOX_IMAGE and $NOSHELL_IMAGE from $BB"
fi
docker run --rm "$BUSYBOX_IMAGE" true || die "a container of $BUSYBOX_IMAGE does not run"
say "ready: docker run --rm $BUSYBOX_IMAGE true works"

# 4. With --swarm: a single-node swarm manager.
if [ "$MODE" = swarm ]; then
  state=$(swarm_state) || die "'docker info' does not answer with the swarm state"
  case "$state" in
    inactive)
      say "swarm: initialising a single-node swarm (advertise 127.0.0.1)"
      docker swarm init --advertise-addr 127.0.0.1 >/dev/null || die "'docker swarm init --advertise-addr 127.0.0.1' failed"
      swarm_cluster_id >"$SWARM_MARKER"
      say "swarm: manager ready (undo with $0 --swarm-leave)"
      ;;
    active)
      swarm_manager || die "swarm: this engine is an active swarm WORKER, tests need a manager: promote it ('docker node promote' on a manager) or leave that swarm yourself ('docker swarm leave') and re-run"
      say "swarm: the engine already is a swarm manager: nothing to do (not ours to leave)"
      ;;
    *)
      die "swarm: the engine's swarm state is '${state:-unknown}' (not inactive or an active manager): fix it yourself ('docker info' shows why; 'docker swarm leave --force' if it is a swarm you may drop) and re-run"
      ;;
  esac
fi
