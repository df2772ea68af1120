#!/bin/sh
# check_nginx.sh [URL] - health check for the nginx pair's vrrp_script.
#
# Exits 0 when nginx answers URL (default http://127.0.0.1/) with a 2xx
# status within one second, non-zero otherwise (curl's own exit code).
# The one-second cap keeps a hung nginx from looking healthy: the
# vrrp_script's timeout is the outer bound, this is the inner one.
url=${1:-http://127.0.0.1/}
exec curl --max-time 1 -fsS -o /dev/null -- "$url"
