-- Two database roles for sherpany, least privilege:
--
--   sherpany_migrate  owns the schema: `sherpany migrate` and `sherpany seed`
--                     run as it (CREATE in schema public, owner of its tables).
--   sherpany_serve    can only read: `sherpany serve` runs as it. SELECT on
--                     the tables sherpany_migrate creates (users, and the
--                     migration table that /ready reads), nothing else.
--
-- This file is the one copy. The postgres component runs it on the first
-- start of an empty volume (ConfigMap sherpany-postgres-initdb, as
-- 10-roles.sql, then logins.sql as 20-logins.sql). Anywhere else, run it
-- once per database, as a superuser or a role with CREATEROLE that owns the
-- database, connected to that database, then give both roles a password:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 \
--     -f deploy/kubernetes/components/postgres/roles.sql
--   psql "$ADMIN_URL" -c '\password sherpany_migrate' -c '\password sherpany_serve'
--
-- (psql's \password asks for each one and sends only its hash.)
--
-- Safe to run again: it creates what is missing and re-grants.

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sherpany_migrate') THEN
		CREATE ROLE sherpany_migrate LOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sherpany_serve') THEN
		CREATE ROLE sherpany_serve LOGIN;
	END IF;
END
$$;

-- The owner creates the tables; since PostgreSQL 15 nobody else may create
-- in schema public unless granted.
GRANT USAGE, CREATE ON SCHEMA public TO sherpany_migrate;
GRANT USAGE ON SCHEMA public TO sherpany_serve;

-- Whatever the owner creates from now on is readable, and only readable, by
-- the serving role; and so is what it already created (a re-run).
ALTER DEFAULT PRIVILEGES FOR ROLE sherpany_migrate IN SCHEMA public
	GRANT SELECT ON TABLES TO sherpany_serve;
DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT tablename FROM pg_tables
		WHERE schemaname = 'public' AND tableowner = 'sherpany_migrate'
	LOOP
		EXECUTE format('GRANT SELECT ON public.%I TO sherpany_serve', t.tablename);
	END LOOP;
END
$$;
