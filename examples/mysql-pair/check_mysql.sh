#!/bin/sh
# vrrp_script check_mysql: is the local database answering? A connection
# and one query over the local socket, bounded by check-timeout seconds
# (pair.cnf). Exit 0 healthy, 1 not: with fall 2 the instance goes to
# FAULT after two failures in a row, and gives the VIP up.
#
# It also keeps one invariant every second: a server that is writable
# while this host does not hold the VIP gets demoted (demote.sh). That
# catches what no transition would: a demotion that failed because the
# server hung and then came back, or read_only turned off by hand.
set -u
. "$(dirname -- "$0")/lib.sh"
SQL_TIMEOUT=$(setting check-timeout 2)
vip=$(setting vip "")
ro=$(sql "SELECT @@global.read_only") || exit 1
if [ "$ro" = 0 ] && [ -n "$vip" ] && [ -z "$(ip -o addr show to "$vip" 2>/dev/null)" ]; then
    log "check: writable without the VIP $vip: demoting"
    "$PAIR_DIR/demote.sh" check-writable-without-vip || exit 1
fi
exit 0
