#!/usr/bin/env bash
# Leaves a working Docker engine, a compose CLI and stateguard's small local test images.
# Idempotent. With an engine already answering (a GitHub runner, a developer box) it only checks
# and builds the images if missing. Otherwise, as root with apt, it installs Debian's docker.io,
# docker-compose and busybox-static, starts dockerd detached (setsid, output to a log file so it
# never holds the caller's output open) and waits, bounded, until it answers.
# No registry is reachable: images are made by `docker import` of a busybox rootfs; never pulled.
#
# When this script starts dockerd it writes its PID to $STATEGUARD_DOCKERD_PIDFILE so the caller
# (.ci/run, the demo) can stop exactly the daemon it started.
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

# 2. A compose CLI: v2 plugin if present, else Debian's docker-compose (v1).
if docker compose version >/dev/null 2>&1; then
  say "compose: docker compose $(docker compose version --short 2>/dev/null)"
elif command -v docker-compose >/dev/null; then
  say "compose: docker-compose $(docker-compose version --short 2>/dev/null)"
else
  apt_install docker-compose
  say "compose: docker-compose $(docker-compose version --short 2>/dev/null)"
fi

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
