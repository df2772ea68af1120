-- Run once on db-b as root (`mariadb < setup-replica.sql`): replicate
-- from db-a by GTID. db-b stays read-only; only promote.sh changes that.
-- To re-join an old primary later, see README.md ("Re-joining").
CHANGE MASTER TO
    MASTER_HOST = '198.18.2.1',
    MASTER_PORT = 3306,
    MASTER_USER = 'repl',
    MASTER_PASSWORD = 'change-me-repl',
    MASTER_USE_GTID = slave_pos,
    MASTER_CONNECT_RETRY = 1;
START SLAVE;
