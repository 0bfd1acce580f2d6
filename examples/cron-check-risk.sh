#!/bin/sh
# Cron check: alert unless the `risk` engine is RUNNING. Exit codes of
# nautilus(1) tell "daemon down" (3) from "no such engine" (4).
#   */5 * * * * NAUTILUS_STATE_DIR=/var/lib/nautilus /usr/share/doc/nautilus/examples/cron-check-risk.sh
set -u
ENGINE=${1:-risk}
ALERT=${ALERT_COMMAND:-logger -t nautilus-check -p user.err}

out=$(nautilus --json engine status "$ENGINE" 2>&1)
rc=$?
case $rc in
  0) state=$(printf '%s' "$out" | sed -n 's/.*"state":"\([A-Z]*\)".*/\1/p')
     [ "$state" = RUNNING ] && exit 0
     $ALERT "engine $ENGINE is ${state:-unknown}" ;;
  3) $ALERT "nautilusd unreachable: $out" ;;
  4) $ALERT "engine $ENGINE is not configured: $out" ;;
  *) $ALERT "nautilus exited $rc: $out" ;;
esac
exit 1
