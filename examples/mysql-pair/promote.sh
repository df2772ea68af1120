#!/bin/sh
# notify_master: make this node's server the writable primary.
#
# 1. Stop fetching from the old primary and let the SQL thread apply
#    everything already received (bounded by promote-wait seconds), so no
#    transaction the old primary shipped is lost or applied late.
# 2. Forget the replication source (RESET SLAVE ALL): a primary must
#    never start replicating again by itself, e.g. after a restart.
# 3. read_only=OFF: only now can the application user write.
set -u
. "$(dirname -- "$0")/lib.sh"
wait_s=$(setting promote-wait 10)
why="${VIGIL_REASON:-}"

source_host=$(replica_field Master_Host)
if [ -n "$source_host" ]; then
    sql "STOP SLAVE IO_THREAD" || log "promote: STOP SLAVE IO_THREAD failed"
    received=$(replica_field Gtid_IO_Pos)
    if [ -n "$received" ]; then
        r=$(SQL_TIMEOUT=$((wait_s + 5)) sql "SELECT MASTER_GTID_WAIT('$received', $wait_s)")
        if [ "$r" != 0 ]; then
            log "promote: WARNING relay log not applied within ${wait_s}s (received $received, applied $(sql 'SELECT @@gtid_slave_pos'))"
        fi
    fi
    sql "STOP SLAVE; RESET SLAVE ALL" || { log "promote: cannot stop replication from $source_host; staying read-only"; exit 1; }
fi
if ! sql "SET GLOBAL read_only=OFF"; then
    log "promote: SET GLOBAL read_only=OFF failed"
    exit 1
fi
log "promoted: writable primary (was replicating from ${source_host:-nobody})${why:+; $why}"
