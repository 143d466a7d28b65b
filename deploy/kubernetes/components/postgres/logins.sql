-- Gives sherpany_migrate and sherpany_serve (roles.sql) their passwords, read
-- from the files that SHERPANY_MIGRATE_PASSWORD_FILE and
-- SHERPANY_SERVE_PASSWORD_FILE name: the StatefulSet mounts the Secret
-- sherpany-database there (keys migrate-password and serve-password). psql
-- reads each with `cat`, so no password is on a command line (ps), in an
-- environment variable or in a ConfigMap; the server keeps only its SCRAM hash.
--
-- The postgres image runs it once, on the first start of an empty volume,
-- after roles.sql. Run it again to rotate the passwords (after changing the
-- Secret, whose mounted files follow) or to give an existing volume the roles:
--
--   kubectl -n sherpany exec sherpany-postgres-0 -- psql -v ON_ERROR_STOP=1 \
--     -U postgres -d sherpany -f /docker-entrypoint-initdb.d/10-roles.sql \
--     -f /docker-entrypoint-initdb.d/20-logins.sql

-- The statements below carry the passwords: keep them out of the server's
-- log whatever its settings (these need a superuser, which the image's
-- entrypoint is).
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET log_min_duration_statement = -1;

\set migrate_password `cat "$SHERPANY_MIGRATE_PASSWORD_FILE"`
\set serve_password `cat "$SHERPANY_SERVE_PASSWORD_FILE"`

-- psql goes on with an empty value when `cat` fails: stop instead (exit 3),
-- so that initdb fails loudly rather than leave a role without a password.
-- The same password for both would let the serving role log in as the owner.
SELECT :'migrate_password' = '' OR :'serve_password' = '' AS missing_password,
	:'migrate_password' = :'serve_password' AS same_password \gset
\if :missing_password
DO $$ BEGIN RAISE EXCEPTION 'sherpany: SHERPANY_MIGRATE_PASSWORD_FILE and SHERPANY_SERVE_PASSWORD_FILE must name files that hold the passwords (Secret sherpany-database, keys migrate-password and serve-password)'; END $$;
\elif :same_password
DO $$ BEGIN RAISE EXCEPTION 'sherpany: migrate-password and serve-password of Secret sherpany-database must differ'; END $$;
\endif

ALTER ROLE sherpany_migrate PASSWORD :'migrate_password';
ALTER ROLE sherpany_serve PASSWORD :'serve_password';
\unset migrate_password
\unset serve_password
