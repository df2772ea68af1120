#!/bin/sh
# vrrp_script check_mysql: is the local database answering? A connection
# and `SELECT 1` over the local socket, bounded by check-timeout seconds
# (pair.cnf). Exit 0 healthy, 1 not: with fall 2 the instance goes to
# FAULT after two failures in a row, and gives the VIP up.
set -u
. "$(dirname -- "$0")/lib.sh"
SQL_TIMEOUT=$(setting check-timeout 2)
out=$(sql "SELECT 1") || exit 1
[ "$out" = 1 ]
