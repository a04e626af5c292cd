#!/usr/bin/env bash
# Installs the real DNSSEC peers the tests start (tests/peers/dnssec.py): Knot DNS (an
# authoritative server that signs its zones itself) and Unbound (a validating resolver).
# Nothing is started or enabled here: the tests run their own instances on 127.0.2.53/54
# with their own configuration.
#
# Usage (as root):  dnssec.sh install
# Environment:      MXAUDIT_SKIP_APT_UPDATE=1  install without "apt-get update" first
set -euo pipefail
PKGS=(knot unbound)

die() { echo "dnssec.sh: $*" >&2; exit 1; }

case "${1:-}" in
install)
    [ "$(id -u)" = 0 ] || die "must run as root"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${MXAUDIT_SKIP_APT_UPDATE:-}" ]; then
        apt-get update -q || die "apt-get update failed"
    fi
    # policy-rc.d (exit 101): the packages' own services are not started by the install,
    # so no system resolver or name server takes port 53 behind the tests' back
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -q --no-install-recommends "${PKGS[@]}" || die "apt-get install failed"
    for b in /usr/sbin/knotd /usr/sbin/unbound /usr/sbin/unbound-checkconf; do
        [ -x "$b" ] || die "$b missing after install"
    done
    echo "DNSSEC peers installed: $(knotd -V | head -1); $(unbound -V | head -1)"
    ;;
*)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
