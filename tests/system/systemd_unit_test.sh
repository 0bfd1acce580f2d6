#!/usr/bin/env bash
# The systemd unit as `cmake --install` writes it: its ExecStart is the
# installed binary, `systemd-analyze verify` accepts it, `systemd-analyze
# security` scores it 4 or better ("OK"), the installed default config passes
# --check-config, and a reinstall keeps an operator's edited config.
# Usage: systemd_unit_test.sh BUILD_DIR. Exit 77 (skipped) without systemd,
# unless NAUTILUS_TEST_NO_SKIP is set (the test command installed systemd, so
# a skip there would hide a failure).
set -euo pipefail
build=$1
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found" >&2
  [ -n "${NAUTILUS_TEST_NO_SKIP:-}" ] && [ "${NAUTILUS_TEST_NO_SKIP}" != 0 ] && exit 1
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/usr
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
unit=$prefix/lib/systemd/system/nautilusd.service
conf=$prefix/etc/nautilus/nautilusd.toml
[ -f "$unit" ] || fail "no unit at $unit"
[ -f "$conf" ] || fail "no default config at $conf"
[ -f "$prefix/lib/sysusers.d/nautilus.conf" ] || fail "no sysusers.d entry"
grep -qx "ExecStart=$prefix/sbin/nautilusd --config $conf --state-dir /var/lib/nautilus --socket /run/nautilus/nautilusd.sock" "$unit" \
  || { grep ExecStart "$unit"; fail "ExecStart does not match the install prefix"; }
[ -x "$prefix/sbin/nautilusd" ] || fail "nautilusd not installed in $prefix/sbin"

# verify prints problems and exits non-zero on errors; any output is a problem.
out=$(systemd-analyze verify --man=no "$unit" 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify printed warnings"; }

line=$(systemd-analyze security --offline=true "$unit" 2>&1 | grep "Overall exposure level") || fail "no security score"
score=$(sed -n 's/.*: \([0-9][0-9.]*\) .*/\1/p' <<<"$line")
echo "$line"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 4.0) }' || fail "exposure $score > 4.0"

"$prefix/sbin/nautilusd" --check-config --config "$conf" || fail "installed default config does not check"

echo "# edited by the operator" >>"$conf"
cmake --install "$build" --prefix "$prefix" >"$tmp/install2.log"
grep -q "# edited by the operator" "$conf" || fail "reinstall overwrote the edited config"
echo "systemd unit OK"
