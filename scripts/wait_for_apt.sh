#!/usr/bin/env bash
# Wait until no other apt/dpkg process holds the package manager's locks (an unattended upgrade on a
# fresh machine, another install), instead of failing at once. The probe takes each lock the way
# apt does (fcntl, non-blocking) and lets go at once; a lock file we cannot open is not waited on.
#   GLC_APT_LOCKS   the lock files (default: dpkg's frontend and database locks, apt's lists lock)
#   GLC_APT_WAIT_S  the longest wait in seconds (default 600); GLC_APT_POLL_S between probes (5)
set -uo pipefail
locks=${GLC_APT_LOCKS:-"/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock"}
wait_s=${GLC_APT_WAIT_S:-600}
poll_s=${GLC_APT_POLL_S:-5}
PY=$(command -v python3 || true)
[ -n "$PY" ] || exit 0  # nothing to probe with: apt's own lock timeout still applies

held() {
  "$PY" - "$@" <<'PY'
import fcntl, os, sys
for path in sys.argv[1:]:
    try:
        fd = os.open(path, os.O_RDWR)  # never created here
    except OSError:
        continue  # missing, or not ours to open
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(path)
        sys.exit(0)
    finally:
        os.close(fd)
sys.exit(1)
PY
}

waited=0
said=""
# shellcheck disable=SC2086  # the lock list is split on spaces on purpose
while busy=$(held $locks); do
  if [ "$waited" -ge "$wait_s" ]; then
    echo "another apt/dpkg process still holds $busy after ${waited}s; let it finish, then run this again" >&2
    exit 1
  fi
  if [ -z "$said" ]; then
    echo "waiting for another apt/dpkg process to let go of $busy (up to ${wait_s}s)..." >&2
    said=1
  fi
  sleep "$poll_s"
  waited=$((waited + poll_s))
done
exit 0
