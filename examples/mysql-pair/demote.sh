#!/bin/sh
# Demote this node's server: notify_backup, notify_fault, notify_stop, the
# arbiter block's notify_fence, and the systemd drop-in's ExecStopPost.
# Arguments (the caller's word, and for notify_fence the instance and the
# reason) are only logged.
#
# 1. read_only=ON first: from then on the application user (no SUPER, no
#    READ_ONLY ADMIN) cannot write, and an open transaction cannot commit.
#    lock_wait_timeout bounds the wait for sessions holding locks.
# 2. Kill every session of the application user: a session that stays
#    open would keep sending its statements here, and the application's
#    pool must reconnect through the VIP to the new primary.
# 3. If step 1 gave up waiting for a lock holder, step 2 removed it: retry.
set -u
. "$(dirname -- "$0")/lib.sh"
app_user=$(setting app-user app)
why="$*${VIGIL_REASON:+ ($VIGIL_REASON)}${SERVICE_RESULT:+ (vigil.service: $SERVICE_RESULT ${EXIT_CODE:-} ${EXIT_STATUS:-})}"

ro=ok
sql "SET SESSION lock_wait_timeout=1; SET GLOBAL read_only=ON" || ro=failed
sql "KILL CONNECTION USER '$app_user'" || log "demote: killing $app_user's sessions failed"
if [ "$ro" = failed ] && ! sql "SET SESSION lock_wait_timeout=5; SET GLOBAL read_only=ON"; then
    log "demote: FAILED to set read_only=ON ($why)"
    exit 1
fi
log "demoted: read-only, $app_user's sessions killed ($why)"
