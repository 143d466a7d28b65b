/**
 * The `sherpany` command line: builds the commander program, dispatches to
 * `src/commands/*`, and maps errors to exit codes (0 ok, 1 failed, 2 usage).
 * Command modules are imported lazily so `check-health` loads no database code.
 */
import { Command, CommanderError, Option } from "commander";
import {
	type DatabaseConfig,
	type DatabaseFlags,
	DEFAULT_DATA_DIR,
	describeDatabase,
	loadDatabaseConfig,
} from "./config/database.ts";
import type { Env } from "./config/sources.ts";
import { isDatabaseUnavailable, isTlsFailure } from "./db/errors.ts";
import {
	CommandError,
	ConfigError,
	EXIT_OK,
	EXIT_USAGE,
	exitCodeFor,
	UsageError,
} from "./errors.ts";
import { describeRuntime, VERSION } from "./version.ts";

/** Where the CLI writes; injected so tests can capture it. */
export interface Io {
	readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
	readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const defaultIo: Io = { stdout: process.stdout, stderr: process.stderr };

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(
	argv: readonly string[],
	env: Env,
	io: Io = defaultIo,
): Promise<number> {
	const print = (line: string): void => void io.stdout.write(`${line}\n`);
	let database: DatabaseConfig | undefined;
	/** Loads the database settings; `serve` logs the embedded notice itself, the others print it. */
	const loadDatabase = (
		flags: DatabaseFlags,
		printNotice = true,
	): DatabaseConfig => {
		database = loadDatabaseConfig(env, flags);
		if (database.kind === "embedded" && printNotice) {
			io.stderr.write(
				`sherpany: no database configured: using the ${describeDatabase(database)}; set DATABASE_URL (or PGHOST) to use PostgreSQL\n`,
			);
		}
		return database;
	};

	const program = new Command("sherpany")
		.description(
			"A users service on PostgreSQL: HTTP API, migrations, seeding and a health probe in one binary.",
		)
		.version(
			`sherpany ${VERSION} (${describeRuntime()})`,
			"-V, --version",
			"print the version and runtime",
		)
		.helpOption("-h, --help", "show help")
		.exitOverride()
		.configureOutput({
			writeOut: (text) => void io.stdout.write(text),
			writeErr: (text) => void io.stderr.write(text),
		})
		.showSuggestionAfterError();

	addDatabaseOptions(
		program
			.command("serve")
			.description(
				"run the HTTP server (never changes the schema: run migrate first)",
			)
			.addOption(envOption("--port <port>", "API port", "PORT", "8080"))
			.addOption(
				envOption(
					"--host <address>",
					"address to listen on",
					"HOST",
					"0.0.0.0",
				),
			)
			.addOption(
				envOption(
					"--admin-port <port>",
					"separate port for /metrics, /health, /ready",
					"ADMIN_PORT",
					"none",
				),
			)
			.addOption(
				envOption(
					"--log-level <level>",
					"fatal|error|warn|info|debug|trace|silent",
					"LOG_LEVEL",
					"info",
				),
			)
			.addOption(
				envOption(
					"--shutdown-delay-ms <ms>",
					"wait after readiness fails",
					"SHUTDOWN_DELAY_MS",
					"5000",
				),
			)
			.addOption(
				envOption(
					"--shutdown-timeout-ms <ms>",
					"drain deadline",
					"SHUTDOWN_TIMEOUT_MS",
					"20000",
				),
			)
			.addOption(
				envOption(
					"--ready-timeout-ms <ms>",
					"database check timeout",
					"READY_TIMEOUT_MS",
					"1000",
				),
			),
	).action(async (flags) => {
		const [{ loadServerConfig }, { createLogger }, serve] = await Promise.all([
			import("./config/server.ts"),
			import("./logger.ts"),
			import("./commands/serve.ts"),
		]);
		const server = loadServerConfig(env, flags);
		const logger = createLogger(server.logLevel);
		const running = await serve.run(
			{ server, database: loadDatabase(flags, false) },
			{ logger },
		);
		await waitForShutdownSignal(
			running,
			server.shutdownDelayMs + server.shutdownTimeoutMs,
		);
	});

	const migrate = addDatabaseOptions(
		program
			.command("migrate")
			.description(
				"apply pending migrations (safe to run from several processes at once)",
			),
	).action(async (flags) => {
		const { run } = await import("./commands/migrate.ts");
		await run({ database: loadDatabase(flags), action: "latest" }, { print });
	});
	addDatabaseOptions(
		migrate
			.command("status")
			.description("list applied and pending migrations"),
	).action(async (flags) => {
		const { run } = await import("./commands/migrate.ts");
		await run({ database: loadDatabase(flags), action: "status" }, { print });
	});

	addDatabaseOptions(
		program
			.command("seed")
			.description(
				"insert the three sample users (idempotent), synthetic users, or users from a file",
			)
			.addOption(
				envOption("--count <n>", "add N synthetic users", "SEED_COUNT"),
			)
			.addOption(
				envOption(
					"--file <path>",
					"import a .csv (name,email header) or .ndjson file",
					"SEED_FILE",
				),
			),
	).action(async (flags) => {
		const [{ loadSeedSource }, { run }] = await Promise.all([
			import("./config/seed.ts"),
			import("./commands/seed.ts"),
		]);
		const source = loadSeedSource(env, flags);
		await run(
			{ database: loadDatabase(flags), source },
			{ print, progress: io.stderr },
		);
	});

	program
		.command("check-health")
		.description(
			"probe the local server's /health (exit 0 healthy, 1 not): the liveness probe",
		)
		.addOption(
			envOption(
				"--ready",
				"probe /ready instead of /health",
				"CHECK_HEALTH_READY",
			),
		)
		.addOption(
			envOption("--url <url>", "probe this URL instead", "CHECK_HEALTH_URL"),
		)
		.addOption(
			envOption("--port <port>", "port of the local server", "PORT", "8080"),
		)
		.addOption(
			envOption(
				"--timeout-ms <ms>",
				"give up after this long",
				"CHECK_HEALTH_TIMEOUT_MS",
				"800",
			),
		)
		.action(async (flags) => {
			const [{ loadCheckHealthConfig }, { run }] = await Promise.all([
				import("./config/check-health.ts"),
				import("./commands/check-health.ts"),
			]);
			await run(loadCheckHealthConfig(env, flags), { print });
		});

	try {
		await program.parseAsync([...argv], { from: "user" });
		return EXIT_OK;
	} catch (error) {
		return reportError(error, database, io);
	}
}

/** An option whose help names its environment variable and default (values are resolved in src/config). */
function envOption(
	flags: string,
	description: string,
	envName: string,
	defaultValue?: string,
): Option {
	const suffix =
		defaultValue === undefined
			? `env: ${envName}`
			: `env: ${envName}, default: ${defaultValue}`;
	return new Option(flags, `${description} (${suffix})`);
}

function addDatabaseOptions(command: Command): Command {
	return command
		.addOption(
			envOption(
				"--database-url <url>",
				"PostgreSQL URL; else PGHOST/PGPORT/PGDATABASE/PGUSER/PGPASSWORD or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD",
				"DATABASE_URL or DATABASE_URL_FILE",
			),
		)
		.addOption(
			envOption(
				"--ssl-mode <mode>",
				"disable|require|verify-ca|verify-full",
				"PGSSLMODE",
				"disable",
			),
		)
		.addOption(
			envOption(
				"--ssl-root-cert <file>",
				"CA bundle to verify the server with",
				"PGSSLROOTCERT",
			),
		)
		.addOption(
			envOption(
				"--pool-max <n>",
				"most connections in the pool",
				"PG_POOL_MAX",
				"10",
			),
		)
		.addOption(
			envOption(
				"--connect-timeout-ms <ms>",
				"database connect timeout",
				"PG_CONNECT_TIMEOUT_MS",
				"5000",
			),
		)
		.addOption(
			envOption(
				"--data-dir <dir>",
				"embedded PGlite data directory, used when no PostgreSQL is configured; memory:// keeps it in memory",
				"SHERPANY_DATA_DIR",
				DEFAULT_DATA_DIR,
			),
		);
}

/**
 * Resolves after a clean shutdown on SIGTERM or SIGINT. A second signal, or a
 * shutdown that overruns its deadline, exits at once with code 1.
 */
function waitForShutdownSignal(
	running: { shutdown(reason: string): Promise<void> },
	deadlineMs: number,
): Promise<void> {
	return new Promise((resolve, reject) => {
		// One listener for both signals, kept registered: Deno (2.9) also hands a
		// signal to listeners added while that signal is being dispatched, so a
		// "second signal" listener added here would fire at once and exit 1.
		let signalled = false;
		const onSignal = (signal: NodeJS.Signals): void => {
			if (signalled) process.exit(1);
			signalled = true;
			setTimeout(() => process.exit(1), deadlineMs + 5000).unref();
			running.shutdown(signal).then(resolve, reject);
		};
		process.on("SIGTERM", onSignal);
		process.on("SIGINT", onSignal);
	});
}

/** Prints one clear line (no stack trace) and returns the exit code. */
function reportError(
	error: unknown,
	database: DatabaseConfig | undefined,
	io: Io,
): number {
	if (error instanceof CommanderError) {
		// commander has already printed its message (or the help/version).
		return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
	}
	let message: string;
	if (
		error instanceof ConfigError ||
		error instanceof UsageError ||
		error instanceof CommandError
	) {
		message = error.message;
	} else if (isTlsFailure(error) && database) {
		message = `TLS to the database at ${describeDatabase(database)} failed (${(error as Error).message}): check --ssl-mode (PGSSLMODE) and --ssl-root-cert (PGSSLROOTCERT)`;
	} else if (isDatabaseUnavailable(error) && database) {
		message = `cannot reach the database at ${describeDatabase(database)} (${reasonOf(error)}): check DATABASE_URL or PGHOST, or pass --database-url`;
	} else {
		message = `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
	}
	io.stderr.write(`sherpany: ${message}\n`);
	return exitCodeFor(error);
}

function reasonOf(error: unknown): string {
	const code = (error as { code?: unknown }).code;
	if (typeof code === "string") return code;
	return error instanceof Error ? error.message : "unknown";
}

// Run when this file is the entry point (node src/main.ts, deno run src/main.ts).
if (import.meta.main) {
	main(process.argv.slice(2), process.env).then((code) => {
		process.exitCode = code;
	});
}
