-- Run once on db-a as root (`mariadb < setup-primary.sql`) after both
-- servers run with 60-mysql-pair.cnf, before db-b replicates. Everything
-- here goes to the binlog, so db-b gets the same users and schema.
-- Replace the passwords (and pair.cnf's, and setup-replica.sql's).

-- The scripts' user: read_only, KILL of other users' sessions, stopping
-- and inspecting replication; RESET SLAVE ALL needs RELOAD in 10.11. It
-- never writes data.
CREATE USER 'vigil_ha'@'localhost' IDENTIFIED BY 'change-me-ha';
GRANT READ_ONLY ADMIN, CONNECTION ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR, RELOAD ON *.* TO 'vigil_ha'@'localhost';

-- Replication, from the other node on the service network.
CREATE USER 'repl'@'198.18.2.%' IDENTIFIED BY 'change-me-repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'198.18.2.%';

-- The application: data privileges only. Without SUPER or READ_ONLY
-- ADMIN, read_only=ON binds it; that is what makes a demoted server safe.
CREATE DATABASE appdb;
CREATE USER 'app'@'198.18.2.%' IDENTIFIED BY 'change-me-app';
GRANT SELECT, INSERT, UPDATE, DELETE ON appdb.* TO 'app'@'198.18.2.%';
