#!/usr/bin/env bash
# A self-contained Debian Postfix instance used as a real-MTA test peer.
#
# It listens only on 127.0.2.25 (ports 25, 465, 587), never relays, never
# delivers and never talks to another host. It is a separate instance
# ("postfix -c DIR/etc", own queue_directory and data_directory); a system
# Postfix, if any, is neither read nor touched.
#
# Usage (as root):
#   postfix.sh install                 apt-get install postfix + cyrus SASL (non-interactive)
#   postfix.sh start  DIR CERT KEY [CA] write config into DIR, start (or reload), wait for ports
#   postfix.sh stop   DIR              stop the instance in DIR and wait until it is gone
#   postfix.sh status DIR              exit 0 if running and all ports accept, 1 otherwise
#
# CERT is a PEM certificate for mail.postfix.test (leaf first, then any
# intermediates); KEY its PEM private key; CA (optional) the issuing CA, used
# only to check CERT and to verify the TLS handshake on 465 at start-up.
#
# Environment:
#   MXAUDIT_POSTFIX_TIMEOUT   seconds to wait for the ports (default 30)
#   MXAUDIT_POSTFIX_IP        the address to listen on (default 127.0.2.25; 127.0.2.0/24 is
#                             kept free for peers): a second instance runs beside the first
#   MXAUDIT_POSTFIX_COUNT_LIMIT / MXAUDIT_POSTFIX_RATE_LIMIT / MXAUDIT_POSTFIX_RATE_UNIT
#                             Postfix's own client limits (anvil): smtpd_client_connection_
#                             count_limit, ..._rate_limit, anvil_rate_time_unit; loopback is
#                             not exempted, so a client on 127.0.0.1 meets Postfix's real 421.
#                             Unset: the limits are not configured (the defaults apply, and
#                             exempt mynetworks). With a rate limit, readiness is checked with
#                             ss(8) instead of connections, which would count against it.
#   MXAUDIT_POSTFIX_SASL_USER / MXAUDIT_POSTFIX_SASL_PASSWORD
#                             the one sasldb account (default mxaudit@mail.postfix.test /
#                             mxaudit-test-only); relaying stays refused even when authenticated.
#   MXAUDIT_SKIP_APT_UPDATE=1 install without "apt-get update" first
#
# Layout: DIR/etc (main.cf, master.cf, sasl/, tls/), DIR/log/postfix.log, and
# queue/data/sasldb in DIR/run -- or, when DIR is not traversable by user
# "postfix" (e.g. pytest's 0700 tmp dirs), in /var/spool/mxaudit-postfix/<hash>,
# which "stop" removes (DIR/etc/run-location says which).
# Every recipient and DATA/BDAT are refused, so nothing is ever queued.
set -uo pipefail

IP=${MXAUDIT_POSTFIX_IP:-127.0.2.25}
COUNT_LIMIT=${MXAUDIT_POSTFIX_COUNT_LIMIT:-}
RATE_LIMIT=${MXAUDIT_POSTFIX_RATE_LIMIT:-}
RATE_UNIT=${MXAUDIT_POSTFIX_RATE_UNIT:-60s}
HOSTNAME_=mail.postfix.test
PORTS=(25 465 587)
PKGS=(postfix libsasl2-modules libsasl2-modules-db sasl2-bin openssl)
TIMEOUT=${MXAUDIT_POSTFIX_TIMEOUT:-30}
SASL_USER=${MXAUDIT_POSTFIX_SASL_USER:-mxaudit}
SASL_PASSWORD=${MXAUDIT_POSTFIX_SASL_PASSWORD:-mxaudit-test-only}

die() { echo "postfix.sh: $*" >&2; exit 1; }
usage() { sed -n '10,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (postfix's master runs as root)"; }

have_postfix() {
    [ -x /usr/sbin/postfix ] && [ -x /usr/lib/postfix/sbin/master ] \
        && [ -x /usr/sbin/saslpasswd2 ] && getent passwd postfix >/dev/null \
        && ls /usr/lib/x86_64-linux-gnu/sasl2/libplain.so* /usr/lib/*/sasl2/libplain.so* >/dev/null 2>&1
}

cmd_install() {
    need_root
    export DEBIAN_FRONTEND=noninteractive
    # "No configuration": the package creates no /etc/postfix/main.cf and
    # starts nothing; our instance brings its own config.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string $HOSTNAME_" | debconf-set-selections
    if [ -z "${MXAUDIT_SKIP_APT_UPDATE:-}" ]; then
        apt-get update -q || die "apt-get update failed"
    fi
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${PKGS[@]}" || die "apt-get install failed"
    have_postfix || die "postfix installed but incomplete"
    echo "postfix $(postconf -d -h mail_version) installed"
}

# Resolve the instance layout for DIR.
layout() {
    [ -n "${1:-}" ] || usage
    if [ "${2:-}" = create ]; then mkdir -p "$1" || die "cannot create $1"; fi
    [ -d "$1" ] || { echo "no postfix peer directory $1"; [ "${2:-}" = missing-ok ] && exit 0; exit 1; }
    DIR=$(cd "$1" && pwd -P)
    CONF=$DIR/etc
    LOGDIR=$DIR/log
    # The daemons drop privileges to user "postfix" and must reach the queue,
    # data and sasldb files. If DIR is not traversable by that user (pytest's
    # tmp dirs are mode 0700), those live in a per-DIR directory under
    # /var/spool instead; config, keys and log stay in DIR (read as root).
    if setpriv --reuid=postfix --regid=postfix --clear-groups -- test -x "$DIR" 2>/dev/null; then
        RUN=$DIR/run
    else
        RUN=/var/spool/mxaudit-postfix/$(printf '%s' "$DIR" | sha256sum | cut -c1-16)
    fi
    QUEUE=$RUN/spool
    DATA=$RUN/data
    SASLDB=$RUN/sasl/sasldb2
}

pf() { postfix -c "$CONF" "$@"; }
# Postfix logs its own fatal errors to syslog unless stderr is a terminal
# (syslog may not exist here): give it one via script(1) to capture them.
pf_tty() { script -qec "$(printf '%q ' postfix -c "$CONF" "$@")" /dev/null | tr -d '\r'; return "${PIPESTATUS[0]}"; }

is_running() { [ -f "$CONF/main.cf" ] && [ -d "$QUEUE/pid" ] && pf status >/dev/null 2>&1; }

# Is something accepting TCP connections on IP:port?
port_accepts() { timeout 2 bash -c "exec 3<>/dev/tcp/$IP/$1" 2>/dev/null; }

# Is a socket listening on IP:port? (no connection: it would count against a rate limit)
port_listens() { ss -Hltn "sport = :$1" 2>/dev/null | awk '{print $4}' | grep -qx "$IP:$1"; }

# One line per problem on stdout; returns non-zero if any.
probe() {
    local ca=${1:-} bad=0 out
    if [ -n "$RATE_LIMIT" ]; then
        for port in "${PORTS[@]}"; do
            port_listens "$port" || { echo "FAIL port $port on $IP: not listening"; bad=1; }
        done
        return $bad
    fi
    for port in 25 587; do
        out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$IP/$port || exit 1
                                 IFS= read -r -t 4 line <&3 || exit 1
                                 printf 'QUIT\r\n' >&3; printf '%s' \"\$line\"" 2>/dev/null)
        case $out in
            "220 $HOSTNAME_ "*) ;;
            *) echo "FAIL port $port on $IP: no SMTP greeting (got: ${out:-nothing})"; bad=1 ;;
        esac
    done
    local verify=()
    [ -n "$ca" ] && verify=(-CAfile "$ca" -verify_return_error -verify_hostname "$HOSTNAME_")
    out=$(printf 'QUIT\r\n' | timeout 8 openssl s_client -connect "$IP:465" -servername "$HOSTNAME_" \
            "${verify[@]}" -ign_eof -quiet 2>&1)
    case $out in
        *"220 $HOSTNAME_ "*) ;;
        *) echo "FAIL port 465 on $IP: implicit TLS handshake/greeting failed: $(printf '%s' "$out" | tr '\r\n' '  ' | cut -c1-300)"; bad=1 ;;
    esac
    return $bad
}

write_config() {
    local cert=$1 key=$2
    install -d -m 0755 "$CONF" "$LOGDIR" "$RUN"
    install -d -m 0700 "$CONF/tls"
    printf '%s\n' "$RUN" > "$CONF/run-location"   # where queue/data/sasldb live
    install -d -m 0750 -o root -g postfix "$CONF/sasl" "$RUN/sasl"
    # Queue directory: root-owned; post-install create-missing fills it in.
    install -d -m 0755 -o root -g root "$QUEUE"
    install -d -m 0700 -o postfix -g postfix "$DATA"

    # Key first, then the certificate chain (smtpd_tls_chain_files order).
    umask 077
    cat "$key" "$cert" > "$CONF/tls/chain.pem.new" && mv -f "$CONF/tls/chain.pem.new" "$CONF/tls/chain.pem"
    umask 022

    cat > "$CONF/main.cf" <<EOF
# Generated by tests/peers/postfix.sh -- a loopback-only test peer. Do not edit.
compatibility_level = 3.6
config_directory = $CONF
queue_directory = $QUEUE
data_directory = $DATA
maillog_file = $LOGDIR/postfix.log
maillog_file_prefixes = $LOGDIR
# Process names in ps/log: keep them apart from a system Postfix.
syslog_name = postfix-mxaudit

myhostname = $HOSTNAME_
mydomain = postfix.test
myorigin = \$myhostname
# Postfix refuses inet_interfaces = $IP unless that address is configured on
# an interface, and adding an alias to lo would change the host. So: loopback
# only, and every inet service in master.cf names $IP explicitly; nothing
# listens on any other address (not even 127.0.0.1).
inet_interfaces = loopback-only
inet_protocols = ipv4
proxy_interfaces =
mynetworks = $IP/32
smtpd_banner = \$myhostname ESMTP mxaudit-postfix-peer

# Never relay, never deliver, never leave the machine.
mydestination =
relay_domains =
relayhost =
default_transport = error:mxaudit test peer does not deliver mail
relay_transport = error:mxaudit test peer does not deliver mail
local_transport = error:mxaudit test peer does not deliver mail
virtual_transport = error:mxaudit test peer does not deliver mail
local_recipient_maps =
smtpd_relay_restrictions = reject_unauth_destination, reject
# Every recipient is refused (relaying denied, even when authenticated).
smtpd_recipient_restrictions = reject_unauth_destination, reject
# Postfix always accepts a bare "RCPT TO:<postmaster>"; so DATA/BDAT are refused too.
smtpd_data_restrictions = reject
smtpd_end_of_data_restrictions = reject
biff = no
# No DNS: no client name lookups (the resolver may not be on loopback).
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
soft_bounce = no
message_size_limit = 1048576

# TLS (server side), TLS 1.2+ only.
smtpd_tls_chain_files = $CONF/tls/chain.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
smtpd_tls_received_header = no
smtpd_tls_session_cache_database =
smtp_tls_security_level = none

# SASL: cyrus, auxprop/sasldb, only PLAIN and LOGIN, only after TLS.
smtpd_sasl_auth_enable = no
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $CONF/sasl
smtpd_sasl_local_domain = $HOSTNAME_
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
broken_sasl_auth_clients = no
EOF
    if [ -n "$COUNT_LIMIT$RATE_LIMIT" ]; then
        cat >> "$CONF/main.cf" <<EOF

# Client limits (MXAUDIT_POSTFIX_*_LIMIT): a throttling MTA, loopback not exempted.
smtpd_client_connection_count_limit = ${COUNT_LIMIT:-50}
smtpd_client_connection_rate_limit = ${RATE_LIMIT:-0}
anvil_rate_time_unit = $RATE_UNIT
smtpd_client_event_limit_exceptions =
EOF
    fi

    cat > "$CONF/master.cf" <<EOF
# Generated by tests/peers/postfix.sh. Nothing is chrooted.
# service             type  private unpriv  chroot  wakeup  maxproc command + args
$IP:25                inet  n       -       n       -       -       smtpd
$IP:587               inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix-mxaudit/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
$IP:465               inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix-mxaudit/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       error
relay     unix  -       -       n       -       -       error
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       error
virtual   unix  -       n       n       -       -       error
lmtp      unix  -       -       n       -       -       error
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

    cat > "$CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SASLDB
log_level: 2
EOF
    chmod 0640 "$CONF/sasl/smtpd.conf"; chgrp postfix "$CONF/sasl/smtpd.conf"

    printf '%s' "$SASL_PASSWORD" | saslpasswd2 -p -c -f "$SASLDB" -u "$HOSTNAME_" "$SASL_USER" \
        || die "saslpasswd2 failed"
    chown root:postfix "$SASLDB"; chmod 0640 "$SASLDB"
}

check_cert() {
    local cert=$1 key=$2 ca=${3:-} bad=0
    [ -r "$cert" ] || { echo "FAIL certificate not readable: $cert"; return 1; }
    [ -r "$key" ] || { echo "FAIL key not readable: $key"; return 1; }
    [ -z "$ca" ] || [ -r "$ca" ] || { echo "FAIL CA file not readable: $ca"; return 1; }
    openssl x509 -in "$cert" -noout -checkhost "$HOSTNAME_" 2>/dev/null | grep -q "does match" \
        || { echo "FAIL certificate $cert is not valid for $HOSTNAME_"; bad=1; }
    [ "$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)" = "$(openssl pkey -in "$key" -pubout 2>/dev/null)" ] \
        || { echo "FAIL key $key does not match certificate $cert"; bad=1; }
    if [ -n "$ca" ]; then
        openssl verify -CAfile "$ca" -untrusted "$cert" "$cert" >/dev/null 2>&1 \
            || { echo "FAIL certificate $cert does not verify against CA $ca"; bad=1; }
    fi
    return $bad
}

cmd_start() {
    [ $# -ge 3 ] || usage
    need_root
    have_postfix || die "postfix is not installed (run: $0 install)"
    local cert key ca=""
    cert=$(readlink -f "$2") key=$(readlink -f "$3")
    [ -n "${4:-}" ] && ca=$(readlink -f "$4")
    layout "$1" create
    check_cert "$cert" "$key" "$ca" || exit 1
    write_config "$cert" "$key"

    local out
    if ! out=$(pf_tty check 2>&1); then
        printf '%s\n' "$out" | sed 's/^/FAIL postfix check: /'
        exit 1
    fi
    if is_running; then
        # Already running: the new config and certificate apply to new smtpd processes.
        pf reload >/dev/null 2>&1 || { echo "FAIL postfix reload failed"; exit 1; }
    else
        for port in "${PORTS[@]}"; do
            port_accepts "$port" && { echo "FAIL $IP:$port is already in use by another process"; exit 1; }
        done
        if ! out=$(pf_tty start 2>&1); then
            printf '%s\n' "$out" | sed 's/^/FAIL postfix start: /'
            tail -n 20 "$LOGDIR/postfix.log" 2>/dev/null | sed 's/^/FAIL log: /'
            exit 1
        fi
    fi

    local deadline=$((SECONDS + TIMEOUT)) failures
    while :; do
        failures=$(probe "$ca") && break
        if [ $SECONDS -ge $deadline ]; then
            printf '%s\n' "$failures"
            grep -E 'fatal|error|warning' "$LOGDIR/postfix.log" 2>/dev/null | tail -n 10 | sed 's/^/FAIL log: /'
            exit 1
        fi
        sleep 0.2
    done
    echo "postfix peer running: $IP ports ${PORTS[*]} (config $CONF, log $LOGDIR/postfix.log)"
}

cmd_stop() {
    [ $# -ge 1 ] || usage
    need_root
    layout "$1" missing-ok
    if [ ! -f "$CONF/main.cf" ]; then
        echo "no postfix peer configured in $DIR"; return 0
    fi
    local pid=""
    [ -f "$QUEUE/pid/master.pid" ] && pid=$(awk '{print $1; exit}' "$QUEUE/pid/master.pid")
    if is_running; then
        pf stop >/dev/null 2>&1 || true
    fi
    # Wait until the master is gone and the ports are closed.
    local deadline=$((SECONDS + 15)) busy
    while :; do
        busy=""
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = master ]; then
            busy="master pid $pid still alive"
        fi
        for port in "${PORTS[@]}"; do
            port_accepts "$port" && busy="$busy port $port still accepting"
        done
        [ -z "$busy" ] && break
        if [ $SECONDS -ge $deadline ]; then
            if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = master ]; then
                kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null
                sleep 0.5
                continue
            fi
            echo "FAIL stop: $busy"; exit 1
        fi
        sleep 0.2
    done
    # Queue/data kept outside DIR (see layout) are per-DIR scratch: remove them.
    case $RUN in
        /var/spool/mxaudit-postfix/?*) rm -rf -- "$RUN" ;;
    esac
    echo "postfix peer stopped ($DIR)"
}

cmd_status() {
    [ $# -ge 1 ] || usage
    layout "$1"
    if ! is_running; then echo "not running ($DIR)"; exit 1; fi
    local failures
    if failures=$(probe); then
        echo "running: $IP ports ${PORTS[*]} (master pid $(awk '{print $1; exit}' "$QUEUE/pid/master.pid"))"
    else
        printf '%s\n' "$failures"; exit 1
    fi
}

case ${1:-} in
    install) shift; cmd_install "$@" ;;
    start)   shift; cmd_start "$@" ;;
    stop)    shift; cmd_stop "$@" ;;
    status)  shift; cmd_status "$@" ;;
    *) usage ;;
esac
