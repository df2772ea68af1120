# Shared by check_mysql.sh, promote.sh and demote.sh (sourced, not run).
#
# Everything a script needs to know comes from one MySQL option file,
# pair.cnf next to the scripts (or $MYSQL_PAIR_CNF): the [client] group is
# how the mariadb client reaches the local server as the HA user, the
# [mysql-pair] group holds the scripts' own settings. The file is read by
# the mariadb client and my_print_defaults, so it follows the usual
# option-file syntax.

PAIR_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
PAIR_CNF=${MYSQL_PAIR_CNF:-$PAIR_DIR/pair.cnf}

# setting NAME DEFAULT prints NAME from the [mysql-pair] group, or DEFAULT.
setting() {
    v=$(my_print_defaults --defaults-file="$PAIR_CNF" mysql-pair 2>/dev/null | sed -n "s/^--$1=//p" | tail -n 1)
    printf '%s\n' "${v:-$2}"
}

CLIENT=$(setting client mariadb)
SQL_TIMEOUT=$(setting sql-timeout 5)

# sql STATEMENTS runs them on the local server as the HA user, one
# connection, tab-separated output without headers; never longer than
# sql-timeout seconds, so a hung server cannot hang a notify script.
sql() {
    timeout "$SQL_TIMEOUT" "$CLIENT" --defaults-file="$PAIR_CNF" --connect-timeout=2 \
        --batch --skip-column-names -e "$1"
}

# replica_field NAME prints one field of SHOW SLAVE STATUS (empty when
# the server replicates from nobody). The vertical format names the
# fields only with column names on, hence no --skip-column-names here.
replica_field() {
    timeout "$SQL_TIMEOUT" "$CLIENT" --defaults-file="$PAIR_CNF" --connect-timeout=2 \
        --batch -e 'SHOW SLAVE STATUS\G' | sed -n "s/^ *$1: //p"
}

# log MESSAGE goes to syslog (tag mysql-pair) and to stderr, which Vigil
# and keepalived log when a script fails.
log() {
    logger -t mysql-pair -- "$*" 2>/dev/null || true
    printf 'mysql-pair: %s\n' "$*" >&2
}
