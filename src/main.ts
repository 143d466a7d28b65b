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
import { onDatabase } from "./cli/database-failure.ts";
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
import { rewriteUsageErrors } from "./cli/usage-errors.ts";
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
import { loadLogger, loadMigrate, loadSeed, loadServe } from "./deferred.ts";
import {
	describeError,
	EXIT_OK,
	EXIT_USAGE,
	exitCodeFor,
} from "./exit-codes.ts";
import { describeRuntime, VERSION } from "./version.ts";

/** What every command's action uses: the environment, and where to write. */
interface Cli {
	readonly env: Env;
	readonly io: Io;
	/** Prints one line of output on stdout. */
	readonly print: (line: string) => void;
	/** A notice about what the command is doing, on stderr beside errors. */
	readonly notify: (line: string) => void;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(
	argv: readonly string[],
	env: Env,
	io: Io = processIo,
): Promise<number> {
	// check-health's modules (and node:net with them) are imported only by
	// check-health, not by --version.
	const probe = readProbeArgs(argv);
	if (probe) {
		const { runProbe } = await import("./probe.ts");
		return runProbe(probe, env, io);
	}
	const { Command, CommanderError } = await import("commander");
	const cli: Cli = {
		env,
		io,
		print: (line) => void io.stdout.write(`${line}\n`),
		notify: (line) => void io.stderr.write(`sherpany: ${line}\n`),
	};
	const program = createProgram(new Command("sherpany"), io);
	addServeCommand(program, cli);
	addMigrateCommands(program, cli);
	addSeedCommand(program, cli);
	addCheckHealthCommand(program, cli);
	rewriteUsageErrors(program, "sherpany");
	try {
		await program.parseAsync([...argv], { from: "user" });
		return EXIT_OK;
	} catch (error) {
		// commander has already printed its message (or the help/version).
		if (error instanceof CommanderError)
			return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
		io.stderr.write(`sherpany: ${describeError(error)}\n`);
		return exitCodeFor(error);
	}
}

/** The top-level command: its help, its version, and output through `io`. */
function createProgram(program: Command, io: Io): Command {
	return program
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
}

/** `serve`: loads its settings and runs the service until a signal stops it. */
function addServeCommand(program: Command, cli: Cli): void {
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
			{ createLogger, openLogDestination },
			serve,
			{ isatty },
		] = await Promise.all([
			import("./config/server.ts"),
			import("./config/read-replica.ts"),
			import("./config/api-tokens.ts"),
			loadLogger(),
			loadServe(),
			// Here, not at the top: node:tty (and node:net with it) would
			// cost --version's start-up.
			import("node:tty"),
		]);
		const { env } = cli;
		// serve logs the embedded notice itself.
		const database = loadDatabase(flags, cli, { printNotice: false });
		const replica = loadReadReplicaConfig(env, flags, database);
		const apiTokens = loadApiTokensConfig(env, flags);
		const server = loadServerConfig(env, flags, {
			embedded: database.kind === "embedded",
			terminal: isatty(1),
		});
		const options = {
			server,
			database,
			...(replica ? { replica } : {}),
			...(apiTokens ? { apiTokens } : {}),
		};
		const logger = createLogger(
			server.logLevel,
			await openLogDestination(server.logFormat),
		);
		// JSON lines still waiting in a batch are written by the destination's
		// own `exit` hook (src/logger.ts), however the process ends.
		await onDatabase(database, () => serve.runUntilSignal(options, { logger }));
	});
}

/** `migrate` and `migrate status`. */
function addMigrateCommands(program: Command, cli: Cli): void {
	const migrate = addOptions(
		program
			.command("migrate")
			.description(
				"apply pending migrations (safe to run from several processes at once)",
			),
		DATABASE_OPTIONS,
	).action(async (flags) => {
		const { run } = await loadMigrate();
		const database = loadDatabase(flags, cli);
		await onDatabase(database, () =>
			run({ database, action: "latest" }, { print: cli.print }),
		);
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
		const database = loadDatabase(flags, cli);
		await onDatabase(database, () =>
			run({ database, action: "status" }, { print: cli.print }),
		);
	});
}

/** `seed`: its input is checked before the database is even named. */
function addSeedCommand(program: Command, cli: Cli): void {
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
		const input = loadSeedInput(cli.env, flags);
		// A missing file must not first create an embedded database.
		checkSeedInput(input);
		const database = loadDatabase(flags, cli);
		await onDatabase(database, () =>
			run(
				{ database, input },
				{ print: cli.print, progress: cli.io.stderr, notify: cli.notify },
			),
		);
	});
}

/** `check-health`, when the probe's own parser did not take the line. */
function addCheckHealthCommand(program: Command, cli: Cli): void {
	addOptions(
		program
			.command("check-health")
			.description(
				"probe the local server's /health (exit 0 healthy, 1 not): the liveness probe",
			),
		CHECK_HEALTH_OPTIONS,
	).action(async (flags: CheckHealthFlags) => {
		const { runCheckHealth } = await import("./probe.ts");
		await runCheckHealth(flags, cli.env, cli.print);
	});
}

/**
 * Loads the database settings, warns of passwords given as flags, and (but
 * for `serve`, which logs it) says when the embedded database is used.
 */
function loadDatabase(
	flags: DatabaseFlags,
	{ env, notify }: Cli,
	{ printNotice = true } = {},
): DatabaseConfig {
	const database = loadDatabaseConfig(env, flags);
	for (const warning of warnOfPasswordFlags(flags)) notify(warning);
	if (database.kind === "embedded" && printNotice) {
		notify(describeEmbeddedFallback(describeDatabase(database)));
		if (!embeddedDatabaseExists(database))
			notify(
				`creating the embedded database${database.dataDir === MEMORY_DATA_DIR ? " in memory" : ` in ${database.dataDir}, which takes several seconds the first time`}…`,
			);
	}
	return database;
}

// Run when this file is the entry point (node src/main.ts, deno run src/main.ts).
// It exits explicitly: after a shutdown that gave up on a hung database, a
// socket may still hold the event loop open.
if (import.meta.main) {
	main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
