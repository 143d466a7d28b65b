/**
 * The `sherpany` command line: builds the commander program, dispatches to
 * `src/commands/*`, and maps errors to exit codes (0 ok, 1 failed, 2 usage).
 * Command modules are imported lazily (those with database, HTTP or logging
 * code through src/deferred.ts) so `check-health` loads no database code,
 * and a probe's plain `check-health` line skips commander altogether
 * (src/probe.ts). The executable starts at src/binary.ts, which answers
 * that line without loading this file at all.
 */
import type { Command } from "commander";
import { type Io, processIo } from "./cli/io.ts";
import {
	API_TOKENS_OPTIONS,
	addOptions,
	CHECK_HEALTH_OPTIONS,
	DATABASE_OPTIONS,
	READ_REPLICA_OPTIONS,
	SEED_OPTIONS,
	SERVE_OPTIONS,
} from "./cli/options.ts";
import { warnOfPasswordFlags } from "./cli/password-flags.ts";
import { readProbeArgs } from "./cli/probe-args.ts";
import {
	catchShutdownSignals,
	exitIfStillRunningAfter,
} from "./cli/signals.ts";
import { formatUsageError } from "./cli/usage-errors.ts";
import type { CheckHealthFlags } from "./config/check-health.ts";
import {
	type DatabaseConfig,
	type DatabaseFlags,
	describeDatabase,
	loadDatabaseConfig,
	MEMORY_DATA_DIR,
} from "./config/database.ts";
import {
	describeEmbeddedFallback,
	embeddedDatabaseExists,
} from "./config/embedded-state.ts";
import type { Env } from "./config/values.ts";
import {
	isDatabaseUnavailable,
	isServerError,
	isTlsFailure,
} from "./db/classify-error.ts";
import { loadLogger, loadMigrate, loadSeed, loadServe } from "./deferred.ts";
import {
	describeError,
	EXIT_OK,
	EXIT_USAGE,
	exitCodeFor,
	hasExitCode,
} from "./exit-codes.ts";
import { describeRuntime, VERSION } from "./version.ts";

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(
	argv: readonly string[],
	env: Env,
	io: Io = processIo,
): Promise<number> {
	const print = (line: string): void => void io.stdout.write(`${line}\n`);
	/** A notice about what the command is doing, on stderr beside errors. */
	const notify = (line: string): void =>
		void io.stderr.write(`sherpany: ${line}\n`);
	let database: DatabaseConfig | undefined;
	/** Loads the database settings; `serve` logs the embedded notice itself, the others print it. */
	const loadDatabase = (
		flags: DatabaseFlags,
		printNotice = true,
	): DatabaseConfig => {
		database = loadDatabaseConfig(env, flags);
		for (const warning of warnOfPasswordFlags(flags)) notify(warning);
		if (database.kind === "embedded" && printNotice) {
			notify(describeEmbeddedFallback(describeDatabase(database)));
			if (!embeddedDatabaseExists(database))
				notify(
					`creating the embedded database${database.dataDir === MEMORY_DATA_DIR ? " in memory" : ` in ${database.dataDir}, which takes several seconds the first time`}…`,
				);
		}
		return database;
	};

	// check-health's modules (and node:net with them) are imported only by
	// check-health: loading them cost --version about 5 ms.
	const probe = readProbeArgs(argv);
	if (probe) {
		const { runProbe } = await import("./probe.ts");
		return runProbe(probe, env, io);
	}

	const { Command, CommanderError } = await import("commander");
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

	addOptions(
		program
			.command("serve")
			.description(
				"run the HTTP server; it migrates the embedded database itself, but never changes a PostgreSQL schema: run migrate first",
			),
		SERVE_OPTIONS,
		API_TOKENS_OPTIONS,
		DATABASE_OPTIONS,
		READ_REPLICA_OPTIONS,
	).action(async (flags) => {
		const [
			{ loadServerConfig },
			{ loadReadReplicaConfig },
			{ loadApiTokensConfig },
			{ createLogger },
			serve,
		] = await Promise.all([
			import("./config/server.ts"),
			import("./config/read-replica.ts"),
			import("./config/api-tokens.ts"),
			loadLogger(),
			loadServe(),
		]);
		const database = loadDatabase(flags, false);
		const replica = loadReadReplicaConfig(env, flags, database);
		const apiTokens = loadApiTokensConfig(env, flags);
		const server = loadServerConfig(env, flags, {
			embedded: database.kind === "embedded",
		});
		const logger = createLogger(server.logLevel);
		const signals = catchShutdownSignals((signal) =>
			logger.error(
				{ signal },
				`second ${signal}: exiting at once, without finishing the shutdown`,
			),
		);
		let started = false;
		void signals.first.then((signal) => {
			if (!started)
				logger.info(
					{ signal },
					`${signal} received while starting: shutting down as soon as start-up has finished`,
				);
		});
		const running = await serve.run(
			{
				server,
				database,
				...(replica ? { replica } : {}),
				...(apiTokens ? { apiTokens } : {}),
			},
			{ logger },
		);
		started = true;
		const signal = await signals.first;
		const deadlineMs = serve.shutdownDeadlineMs(server);
		exitIfStillRunningAfter(deadlineMs, () =>
			logger.error({ deadlineMs }, "shutdown overran its deadline: exiting"),
		);
		// Ctrl-C at a terminal: a person, not an orchestrator, is waiting.
		// Kubernetes stops containers with SIGTERM and gives them no terminal.
		// isatty(0) asks without creating process.stdin's stream; node:tty
		// (and node:net with it) is imported here, not at the top, to keep
		// it out of --version's start-up.
		const { isatty } = await import("node:tty");
		await running.shutdown(signal, {
			interactive: signal === "SIGINT" && isatty(0),
		});
	});

	const migrate = addOptions(
		program
			.command("migrate")
			.description(
				"apply pending migrations (safe to run from several processes at once)",
			),
		DATABASE_OPTIONS,
	).action(async (flags) => {
		const { run } = await loadMigrate();
		await run({ database: loadDatabase(flags), action: "latest" }, { print });
	});
	addOptions(
		migrate
			.command("status")
			.description("list applied and pending migrations"),
		DATABASE_OPTIONS,
	).action(async (_flags, command: Command) => {
		// Options may stand before `status` too (`migrate --database-url … status`).
		const flags = command.optsWithGlobals();
		const { run } = await loadMigrate();
		await run({ database: loadDatabase(flags), action: "status" }, { print });
	});

	addOptions(
		program
			.command("seed")
			.description(
				"insert the three sample users (idempotent), synthetic users, or users from a file",
			),
		SEED_OPTIONS,
		DATABASE_OPTIONS,
	).action(async (flags) => {
		const [{ loadSeedInput }, { run, checkSeedInput }] = await Promise.all([
			import("./config/seed.ts"),
			loadSeed(),
		]);
		const input = loadSeedInput(env, flags);
		// Before the database is even named: a missing file must not first
		// create an embedded database.
		checkSeedInput(input);
		await run(
			{ database: loadDatabase(flags), input },
			{ print, progress: io.stderr, notify },
		);
	});

	addOptions(
		program
			.command("check-health")
			.description(
				"probe the local server's /health (exit 0 healthy, 1 not): the liveness probe",
			),
		CHECK_HEALTH_OPTIONS,
	).action(async (flags: CheckHealthFlags) => {
		const { runCheckHealth } = await import("./probe.ts");
		await runCheckHealth(flags, env, print);
	});

	rewriteUsageErrors(program, "sherpany");

	try {
		await program.parseAsync([...argv], { from: "user" });
		return EXIT_OK;
	} catch (error) {
		if (error instanceof CommanderError) {
			// commander has already printed its message (or the help/version).
			return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
		}
		return reportError(error, database, io);
	}
}

/** Makes commander's parse errors, on every command, print in the `sherpany: …` form. */
function rewriteUsageErrors(command: Command, path: string): void {
	const context = {
		path,
		commands: command.commands.map((sub) => sub.name()),
	};
	command.configureOutput({
		outputError: (text, write) => write(formatUsageError(text, context)),
	});
	for (const sub of command.commands)
		rewriteUsageErrors(sub, `${path} ${sub.name()}`);
}

/** Prints one clear line (no stack trace) and returns the exit code. */
function reportError(
	error: unknown,
	database: DatabaseConfig | undefined,
	io: Io,
): number {
	const message =
		(database && !hasExitCode(error)
			? describeDatabaseFailure(error, database)
			: undefined) ?? describeError(error);
	io.stderr.write(`sherpany: ${message}\n`);
	return exitCodeFor(error);
}

/** What a failure to reach or use the database means for the operator, if it is one. */
function describeDatabaseFailure(
	error: unknown,
	database: DatabaseConfig,
): string | undefined {
	if (isTlsFailure(error))
		return `TLS to the database at ${describeDatabase(database)} failed (${(error as Error).message}): check --ssl-mode (PGSSLMODE) and --ssl-root-cert (PGSSLROOTCERT)`;
	if (isDatabaseUnavailable(error))
		return `cannot reach the database at ${describeDatabase(database)} (${reasonOf(error)}): check DATABASE_URL or PGHOST, or pass --database-url`;
	if (isServerError(error))
		return `the database at ${describeDatabase(database)} refused: ${error.message}`;
	return undefined;
}

function reasonOf(error: unknown): string {
	const code = (error as { code?: unknown }).code;
	if (typeof code === "string") return code;
	return error instanceof Error ? error.message : "unknown";
}

// Run when this file is the entry point (node src/main.ts, deno run src/main.ts).
// It exits explicitly: after a shutdown that gave up on a hung database, a
// socket may still hold the event loop open.
if (import.meta.main) {
	main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
