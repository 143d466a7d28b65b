-- The read-only role of `sherpany serve` on the CloudNativePG cluster, whose
-- database owner `app` (bootstrap.initdb.owner) runs `sherpany migrate` and
-- `sherpany seed`. SELECT on the tables `app` creates (users, and the
-- migration table that /ready reads), nothing else.
--
-- The operator runs it once, as the superuser in database `app`, right after
-- creating the cluster (bootstrap.initdb.postInitApplicationSQLRefs, from
-- ConfigMap sherpany-db-serve-role). The role's password and attributes are
-- the operator's (spec.managed.roles, from Secret sherpany-db-serve): it
-- adopts the role this file creates. A cluster created before this file
-- needs it run once by hand (README.md says how). Safe to run again.

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sherpany_serve') THEN
		CREATE ROLE sherpany_serve LOGIN;
	END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO sherpany_serve;

-- What `app` creates from now on is readable, and only readable, by the
-- serving role; and so is what it already created (a run by hand).
ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public
	GRANT SELECT ON TABLES TO sherpany_serve;
DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT tablename FROM pg_tables
		WHERE schemaname = 'public' AND tableowner = 'app'
	LOOP
		EXECUTE format('GRANT SELECT ON public.%I TO sherpany_serve', t.tablename);
	END LOOP;
END
$$;
