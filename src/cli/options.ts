/**
 * The command-line options of each command, as data. Commander only parses
 * them; values, defaults and validation live in src/config. The help text
 * names each option's environment variable and default from the same
 * constants the config loaders use.
 */
import type { Command } from "commander";
import { DEFAULT_CHECK_TIMEOUT_MS } from "../config/check-health.ts";
import {
	DEFAULT_CONNECT_TIMEOUT_MS,
	DEFAULT_DATA_DIR,
	DEFAULT_POOL_MAX,
} from "../config/database.ts";
import {
	DEFAULT_READ_CHECK_INTERVAL_MS,
	DEFAULT_READ_MAX_LAG_MS,
} from "../config/read-replica.ts";
import {
	DEFAULT_HOST,
	DEFAULT_LOG_LEVEL,
	DEFAULT_PORT,
	DEFAULT_QUERY_TIMEOUT_MS,
	DEFAULT_READY_TIMEOUT_MS,
	DEFAULT_SHUTDOWN_DELAY_MS,
	DEFAULT_SHUTDOWN_TIMEOUT_MS,
	LOG_LEVELS,
} from "../config/server.ts";

interface OptionSpec {
	readonly flags: string;
	readonly description: string;
	readonly env: string;
	readonly default?: string | number;
}

export const DATABASE_OPTIONS: readonly OptionSpec[] = [
	{
		flags: "--database-url <url>",
		description:
			"PostgreSQL URL; else PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD",
		env: "DATABASE_URL or DATABASE_URL_FILE",
	},
	{
		flags: "--ssl-mode <mode>",
		description: "disable|require|verify-ca|verify-full",
		env: "PGSSLMODE",
		default: "disable",
	},
	{
		flags: "--ssl-root-cert <file>",
		description: "CA bundle to verify the server with",
		env: "PGSSLROOTCERT",
	},
	{
		flags: "--pool-max <n>",
		description: "most connections in the pool",
		env: "PG_POOL_MAX",
		default: DEFAULT_POOL_MAX,
	},
	{
		flags: "--connect-timeout-ms <ms>",
		description: "database connect timeout",
		env: "PG_CONNECT_TIMEOUT_MS",
		default: DEFAULT_CONNECT_TIMEOUT_MS,
	},
	{
		flags: "--data-dir <dir>",
		description:
			"embedded PGlite data directory, used when no PostgreSQL is configured; memory:// keeps it in memory",
		env: "SHERPANY_DATA_DIR",
		default: DEFAULT_DATA_DIR,
	},
];

/** `serve` only: `migrate` and `seed` always use the primary. */
export const READ_REPLICA_OPTIONS: readonly OptionSpec[] = [
	{
		flags: "--database-read-url <url>",
		description:
			"streaming replica for /users and the export; user, password, database and TLS default to the primary's",
		env: "DATABASE_READ_URL or DATABASE_READ_URL_FILE",
	},
	{
		flags: "--read-pool-max <n>",
		description: "most connections in the replica's pool",
		env: "PG_READ_POOL_MAX",
		default: DEFAULT_POOL_MAX,
	},
	{
		flags: "--read-max-lag-ms <ms>",
		description: "read from the primary while the replica is further behind",
		env: "READ_MAX_LAG_MS",
		default: DEFAULT_READ_MAX_LAG_MS,
	},
	{
		flags: "--read-check-interval-ms <ms>",
		description: "how often the replica's lag is checked",
		env: "READ_CHECK_INTERVAL_MS",
		default: DEFAULT_READ_CHECK_INTERVAL_MS,
	},
];

export const SERVE_OPTIONS: readonly OptionSpec[] = [
	{
		flags: "--port <port>",
		description: "API port",
		env: "PORT",
		default: DEFAULT_PORT,
	},
	{
		flags: "--host <address>",
		description: "address to listen on",
		env: "HOST",
		default: DEFAULT_HOST,
	},
	{
		flags: "--admin-port <port>",
		description: "separate port for /metrics, /health, /ready",
		env: "ADMIN_PORT",
		default: "none",
	},
	{
		flags: "--log-level <level>",
		description: LOG_LEVELS.join("|"),
		env: "LOG_LEVEL",
		default: DEFAULT_LOG_LEVEL,
	},
	{
		flags: "--shutdown-delay-ms <ms>",
		description: "wait after readiness fails, for load balancers",
		env: "SHUTDOWN_DELAY_MS",
		default: `${DEFAULT_SHUTDOWN_DELAY_MS}, 0 on the embedded database`,
	},
	{
		flags: "--shutdown-timeout-ms <ms>",
		description: "drain deadline",
		env: "SHUTDOWN_TIMEOUT_MS",
		default: DEFAULT_SHUTDOWN_TIMEOUT_MS,
	},
	{
		flags: "--ready-timeout-ms <ms>",
		description: "database check timeout",
		env: "READY_TIMEOUT_MS",
		default: DEFAULT_READY_TIMEOUT_MS,
	},
	{
		flags: "--query-timeout-ms <ms>",
		description: "longest database query of a request before it gets a 503",
		env: "QUERY_TIMEOUT_MS",
		default: DEFAULT_QUERY_TIMEOUT_MS,
	},
];

export const SEED_OPTIONS: readonly OptionSpec[] = [
	{
		flags: "--count <n>",
		description: "add N synthetic users",
		env: "SEED_COUNT",
	},
	{
		flags: "--file <path>",
		description: "import a .csv (name,email header) or .ndjson file",
		env: "SEED_FILE",
	},
];

export const CHECK_HEALTH_OPTIONS: readonly OptionSpec[] = [
	{
		flags: "--ready",
		description: "probe /ready instead of /health",
		env: "CHECK_HEALTH_READY",
	},
	{
		flags: "--url <url>",
		description: "probe this URL instead",
		env: "CHECK_HEALTH_URL",
	},
	{
		flags: "--port <port>",
		description: "port of the local server",
		env: "PORT",
		default: DEFAULT_PORT,
	},
	{
		flags: "--timeout-ms <ms>",
		description: "give up after this long",
		env: "CHECK_HEALTH_TIMEOUT_MS",
		default: DEFAULT_CHECK_TIMEOUT_MS,
	},
];

/** Adds options to a command, each with its variable and default in the help. */
export function addOptions(
	command: Command,
	...groups: (readonly OptionSpec[])[]
): Command {
	for (const spec of groups.flat()) {
		const shown =
			spec.default === undefined
				? `env: ${spec.env}`
				: `env: ${spec.env}, default: ${spec.default}`;
		// createOption, not `new Option`: this module must not load commander,
		// which a probe's plain command line skips (src/cli/probe-args.ts).
		command.addOption(
			command.createOption(spec.flags, `${spec.description} (${shown})`),
		);
	}
	return command;
}
