/**
 * A real streaming standby of a throwaway cluster (test/helpers/postgres.ts),
 * for the read-replica tests: `pg_basebackup -R` through a physical
 * replication slot, then the copy started on its own port with
 * `hot_standby = on`. The primary's template already allows it: initdb's
 * `--auth=trust` pg_hba.conf accepts replication from 127.0.0.1, and
 * `wal_level = replica` and `max_wal_senders = 10` are PostgreSQL's defaults.
 *
 * The primary must come from `startPostgres(t, { tools: ["pg_basebackup"] })`,
 * so that its server install has `pg_basebackup` (a system PostgreSQL; the
 * npm one has none).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { chown, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Test } from "tap";
import { freePort } from "./free-port.ts";
import type { PostgresCluster } from "./postgres.ts";
import {
	findServerUser,
	quoteForShell,
	ServerTools,
	startWatchdog,
} from "./postgres-tools.ts";

/** A running hot standby that streams from a {@link PostgresCluster}. */
export interface PostgresStandby {
	readonly port: number;
	/** The physical replication slot it streams through, on the primary. */
	readonly slot: string;
	/** The same database on the standby as `primaryUrl` names on the primary. */
	urlFor(primaryUrl: string): string;
	/** Runs SQL on the standby (read-only, apart from functions such as `pg_wal_replay_pause()`). */
	query(url: string, sql: string): Promise<Record<string, unknown>[]>;
	/** Waits until the standby has replayed everything the primary has written so far. */
	waitForReplay(timeoutMs?: number): Promise<void>;
	/** Fast shutdown. Idempotent. */
	stop(): Promise<void>;
	/** Starts again on the same port; it reconnects to the primary by itself. Idempotent. */
	start(): Promise<void>;
}

/** Options of {@link startStandby}. */
export interface StartStandbyOptions {
	/** More `name=value` server settings, such as `max_standby_streaming_delay=0`. */
	readonly settings?: readonly string[];
}

/** Makes a standby of `primary` and starts it; stopped and removed at teardown. */
export async function startStandby(
	t: Pick<Test, "teardown">,
	primary: PostgresCluster,
	{ settings = [] }: StartStandbyOptions = {},
): Promise<PostgresStandby> {
	const runAs = process.getuid?.() === 0 ? await findServerUser() : undefined;
	const dir = await mkdtemp(join(tmpdir(), "sherpany-standby-"));
	const dataDir = join(dir, "data");
	const socketDir = join(dir, "sock");
	const logFile = join(dir, "postgres.log");
	const tools = new ServerTools(primary.server.bindir, runAs, dir);
	const slot = `sherpany_standby_${randomBytes(4).toString("hex")}`;
	let running = false;
	let watchdog: number | undefined;

	const stopServer = async (mode: "fast" | "immediate"): Promise<void> => {
		await tools.run("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "stop"]);
		running = false;
	};
	t.teardown(async () => {
		if (running)
			await stopServer("fast").catch(() =>
				stopServer("immediate").catch(() => {}),
			);
		if (watchdog !== undefined) {
			try {
				process.kill(watchdog);
			} catch {
				// Already gone.
			}
		}
		await rm(dir, { recursive: true, force: true });
	});

	await mkdir(socketDir);
	if (runAs) {
		await chown(dir, runAs.uid, runAs.gid);
		await chown(socketDir, runAs.uid, runAs.gid);
	}
	// -R writes primary_conninfo and primary_slot_name, -C makes the slot,
	// --checkpoint=fast does not wait for the next scheduled checkpoint.
	await tools.run("pg_basebackup", [
		"-h",
		"127.0.0.1",
		"-p",
		String(primary.port),
		"-U",
		"postgres",
		"-D",
		dataDir,
		"-R",
		"-X",
		"stream",
		"-C",
		"-S",
		slot,
		"--checkpoint=fast",
		"--no-sync",
	]);
	const port = await freePort();
	const start = async (): Promise<void> => {
		if (running) return;
		const options = [
			"-p",
			String(port),
			"-k",
			socketDir,
			"-c",
			"listen_addresses=127.0.0.1",
			"-c",
			"hot_standby=on",
			"-c",
			"fsync=off",
			...settings.flatMap((setting) => ["-c", setting]),
		];
		try {
			await tools.run("pg_ctl", [
				"-w",
				"-D",
				dataDir,
				"-l",
				logFile,
				"-o",
				options.map(quoteForShell).join(" "),
				"start",
			]);
		} catch (error) {
			const log = await readFile(logFile, "utf8").catch(() => "");
			throw new Error(
				`the standby did not start on 127.0.0.1:${port}; its log:\n${log.trim().split("\n").slice(-15).join("\n")}`,
				{ cause: error },
			);
		}
		running = true;
	};
	await start();
	watchdog = startWatchdog(tools, dataDir, dir);

	const urlFor = (primaryUrl: string): string => {
		const url = new URL(primaryUrl);
		url.port = String(port);
		return url.href;
	};
	return {
		port,
		slot,
		urlFor,
		query: (url, sql) => primary.query(url, sql),
		async waitForReplay(timeoutMs = 10_000) {
			// The insert position, not the write position: the harness runs
			// with synchronous_commit=off, so a commit can sit in the WAL
			// buffers past pg_current_wal_lsn() until the WAL writer's next round.
			const [row] = await primary.query(
				primary.adminUrl,
				"select pg_current_wal_insert_lsn()::text as lsn",
			);
			const target = String(row?.lsn);
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const [replayed] = await primary.query(
					urlFor(primary.adminUrl),
					`select pg_last_wal_replay_lsn() >= '${target}'::pg_lsn as done`,
				);
				if (replayed?.done === true) return;
				if (Date.now() > deadline)
					throw new Error(
						`the standby had not replayed up to ${target} after ${timeoutMs} ms`,
					);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		},
		stop: async () => {
			if (running) await stopServer("fast");
		},
		start,
	};
}
