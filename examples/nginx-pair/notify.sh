#!/bin/sh
# notify.sh TYPE NAME STATE PRIORITY - the nginx pair's `notify` script.
#
# Vigil (and keepalived) run it on every state change of the instance with
# TYPE INSTANCE|GROUP, the NAME, the new STATE (MASTER, BACKUP, FAULT,
# STOP) and the PRIORITY. Vigil adds $VIGIL_REASON, why it happened (e.g.
# "held: peer MASTER alive on the gossip path"), since keepalived's
# argument list is fixed. The line goes to syslog (daemon.notice, tag
# nginx-pair) and to stderr; with NGINX_PAIR_LOG set, it is appended to
# that file too.
#
# It only reports: nginx runs on both nodes all the time (both listen on
# the wildcard address), so nothing has to start or stop when the VIP moves.
type=$1 name=$2 state=$3 prio=$4
msg="$type $name is $state (priority $prio)${VIGIL_REASON:+: $VIGIL_REASON}"
logger -t nginx-pair -p daemon.notice -- "$msg" 2>/dev/null
echo "nginx-pair: $msg" >&2
if [ -n "${NGINX_PAIR_LOG:-}" ]; then
    echo "$(date +%FT%T) $msg" >>"$NGINX_PAIR_LOG"
fi
exit 0
