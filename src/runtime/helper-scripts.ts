/**
 * The shell programs restore's helper container runs inside the data mounts (docs/architecture.md
 * §12). They are constants: every value (mount paths, owners, modes) reaches them as a positional
 * argument, never interpolated into the text.
 *
 * Every data mount is mounted at `/v/<index>`; a restore's work area inside it is
 * `/v/<index>/.stateguard-restore` with `new/` (the staged content), `old/` (the content that was
 * live), `root` (the top directory's owner and mode before the restore) and the marker `in`.
 *
 * The swap is a sequence of renames inside one filesystem, written so that it can be killed at
 * any instant and then either run again (forward) or undone (revert):
 * - while `in` is absent, every top-level entry of the mount is old content (some already moved
 *   to `old/`); `new/` is complete;
 * - `in` is written (and synced) only once every old entry is in `old/`; from then on every
 *   top-level entry of the mount is new content (the rest still in `new/`), and `old/` is complete.
 * A rename never goes over an existing name: a collision stops the program (exit 4), never merges.
 * The work area's name is the one reserved name (../backup/reserved.ts), a constant of the text.
 */
import { WORK_AREA } from '../backup/reserved.js';

/** Tools the helper image must have; checked before anything is stopped. */
export const HELPER_TOOLS = [
  'mkdir',
  'mv',
  'rm',
  'find',
  'stat',
  'df',
  'wc',
  'awk',
  'chown',
  'chmod',
  'sync',
  'cat',
  'touch',
] as const;

/** Prints `missing <tool>` for each tool the image lacks (exit 1), nothing when all are there. */
export const PROBE_SCRIPT = `
rc=0
for t in "$@"; do command -v "$t" >/dev/null 2>&1 || { echo "missing $t"; rc=1; }; done
exit $rc
`;

/** Per mount: `<mount> <filesystem> <available KiB>` (POSIX df output, one line per mount). */
export const SPACE_SCRIPT = `
set -eu
for v in "$@"; do
  df -Pk "$v" | awk -v v="$v" 'NR == 2 { print v, $1, $4 }'
done
`;

/** Creates each mount's empty work area; refuses one that exists (an unfinished restore's). */
export const PREPARE_SCRIPT = `
set -eu
for v in "$@"; do
  w="$v/${WORK_AREA}"
  if [ -e "$w" ] || [ -L "$w" ]; then echo "$w already exists" >&2; exit 4; fi
done
for v in "$@"; do
  w="$v/${WORK_AREA}"
  mkdir "$w"
  stat -c '%u:%g:%a' "$v" > "$w/root"
  mkdir "$w/new"
done
sync
`;

/** Per mount: `<mount> <entries> <files> <bytes>` of its staged content. */
export const COUNT_SCRIPT = `
set -eu
for v in "$@"; do
  n="$v/${WORK_AREA}/new"
  [ -d "$n" ] || { echo "$n is missing" >&2; exit 4; }
  e=$(find "$n" -mindepth 1 | wc -l)
  f=$(find "$n" -type f | wc -l)
  b=$(find "$n" -type f -exec stat -c %s {} + | awk '{ s += $1 } END { printf "%d", s + 0 }')
  echo "$v $e $f $b"
done
`;

/**
 * \`SECONDS PATH [SECONDS PATH ...]\`: set each path's mtime (and atime) and read it back; a time
 * the helper's touch cannot set exactly stops the program (exit 4), so staging fails before any swap.
 */
export const TIMES_SCRIPT = `
set -eu
while [ $# -ge 2 ]; do
  t="$1"; p="$2"; shift 2
  touch -c -d "@$t" -- "$p" 2>/dev/null || true
  got=$(stat -c %Y -- "$p")
  [ "$got" = "$t" ] || { echo "could not set the mtime of $p to $t (it is $got)" >&2; exit 4; }
done
`;

/**
 * \`swap forward|revert MOUNT META [MOUNT META ...]\`: META is \`uid:gid:mode\` (octal) for the
 * top directory after a forward swap, or \`-\` to leave it. Prints one line per mount, once its
 * step is done: \`MOUNT forwarded|already-new|reverted|already-old|no-work-area\` (Runtime.swap).
 */
export const SWAP_SCRIPT = `
set -eu
move_all() {
  from="$1"; to="$2"; skip="$3"
  for e in "$from"/* "$from"/.[!.]* "$from"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    [ "$e" = "$skip" ] && continue
    t="$to/\${e##*/}"
    if [ -e "$t" ] || [ -L "$t" ]; then echo "refusing to move $e over $t" >&2; exit 4; fi
    mv -- "$e" "$to/"
  done
}
put_root() {
  [ "$2" = - ] && return 0
  chown "\${2%:*}" "$1"
  chmod "\${2##*:}" "$1"
}
dir="$1"; shift
while [ $# -gt 0 ]; do
  v="$1"; meta="$2"; shift 2
  w="$v/${WORK_AREA}"
  # No work area: reverting, nothing was staged here; going forward, the old data was already
  # dropped after the swap. The caller decides what that means; the line says what was found.
  if [ ! -d "$w" ]; then echo "$v no-work-area"; continue; fi
  if [ "$dir" = forward ]; then
    r=already-new
    if [ ! -e "$w/in" ]; then
      [ -d "$w/new" ] || { echo "$w/new is missing" >&2; exit 4; }
      mkdir -p "$w/old"
      move_all "$v" "$w/old" "$w"
      sync
      : > "$w/in"
      sync
      r=forwarded
    fi
    mkdir -p "$w/new"
    move_all "$w/new" "$v" ""
    put_root "$v" "$meta"
    sync
  else
    r=already-old
    if [ -e "$w/in" ]; then
      mkdir -p "$w/new"
      move_all "$v" "$w/new" "$w"
      sync
      [ -s "$w/root" ] && put_root "$v" "$(cat "$w/root")"
      rm -f "$w/in"
      sync
      r=reverted
    fi
    if [ -d "$w/old" ]; then move_all "$w/old" "$v" ""; fi
    sync
  fi
  echo "$v $r"
done
`;

/** Deletes each mount's work area. */
export const DROP_SCRIPT = `
set -eu
for v in "$@"; do rm -rf -- "$v/${WORK_AREA}"; done
sync
`;

/**
 * Per mount: `MOUNT absent`, or `MOUNT present in|out` (a work area, with or without the marker
 * `in`): what an operation left on the data side, read without changing anything.
 */
export const WORK_AREA_SCRIPT = `
set -eu
for v in "$@"; do
  w="$v/${WORK_AREA}"
  if [ -e "$w" ] || [ -L "$w" ]; then
    if [ -e "$w/in" ]; then echo "$v present in"; else echo "$v present out"; fi
  else
    echo "$v absent"
  fi
done
`;

/**
 * Lists every entry under each mount (read-only), NUL-separated: `M`, the mount, then `D`, `F`, `O`
 * each followed by the directories, regular files and other entries (`./path`). The work area is
 * left out. An upgrade's rollback compares this with the snapshot (docs/architecture.md §13).
 */
export const LIST_SCRIPT = `
set -eu
for v in "$@"; do
  cd "$v"
  printf 'M\\0%s\\0' "$v"
  printf 'D\\0'
  find . -mindepth 1 -path ./${WORK_AREA} -prune -o -type d -print0
  printf 'F\\0'
  find . -mindepth 1 -path ./${WORK_AREA} -prune -o -type f -print0
  printf 'O\\0'
  find . -mindepth 1 -path ./${WORK_AREA} -prune -o ! -type d ! -type f -print0
done
`;
