/**
 * Prometheus and promtool for tests: finds them on PATH (Debian's
 * `prometheus` package, installed by .ci/install-prometheus.sh), and starts a
 * throwaway Prometheus server on a free port with its own configuration and
 * storage directory, stopped and removed at teardown.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { Test } from "tap";
import { stringify } from "yaml";
import { freePort } from "./serve.ts";

/** The full path of an executable on PATH, or undefined. */
export function findOnPath(name: string): string | undefined {
	for (const dir of (process.env.PATH ?? "").split(delimiter)) {
		if (!dir) continue;
		const candidate = join(dir, name);
		try {
			accessSync(candidate, constants.X_OK);
			return candidate;
		} catch {}
	}
	return undefined;
}

/**
 * A reason to skip when `names` are not all installed, else false. In CI
 * (`CI` set) a missing tool fails instead: CI installs them, and a skip there
 * would hide the gap.
 */
export function skipWithoutTools(...names: string[]): string | false {
	const missing = names.filter((name) => findOnPath(name) === undefined);
	if (missing.length === 0) return false;
	const reason = `${missing.join(" and ")} not on PATH: install Debian's prometheus package with \`sudo bash .ci/install-prometheus.sh\``;
	if (process.env.CI) throw new Error(reason);
	return reason;
}

/** A scrape job of the test server. */
interface ScrapeJob {
	readonly job: string;
	/** host:port of each target. */
	readonly targets: readonly string[];
	/** Labels added to every series of the job's targets. */
	readonly labels?: Readonly<Record<string, string>>;
}

export interface PrometheusOptions {
	readonly jobs: readonly ScrapeJob[];
	/** Rule files to load, by absolute path. */
	readonly ruleFiles?: readonly string[];
	/** Scrape and rule evaluation interval; short, so a test needs seconds of data, not minutes. */
	readonly interval?: string;
}

/** An instant-query result: one series. */
interface Sample {
	readonly metric: Record<string, string>;
	readonly value: [number, string];
}

export interface PrometheusServer {
	readonly baseUrl: string;
	/** GETs an HTTP API path (`/api/v1/...`) and returns its `data`; throws on an error status. */
	api<T>(path: string, params?: Record<string, string>): Promise<T>;
	/** Evaluates an instant query now. */
	query(expr: string): Promise<Sample[]>;
}

/** Starts Prometheus and resolves once it reports ready. */
export async function startPrometheus(
	t: Pick<Test, "teardown">,
	options: PrometheusOptions,
): Promise<PrometheusServer> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-prometheus-"));
	const interval = options.interval ?? "1s";
	const config = {
		global: {
			scrape_interval: interval,
			scrape_timeout: interval,
			evaluation_interval: interval,
		},
		rule_files: options.ruleFiles ?? [],
		scrape_configs: options.jobs.map(({ job, targets, labels = {} }) => ({
			job_name: job,
			static_configs: [{ targets, labels }],
		})),
	};
	const configFile = join(dir, "prometheus.yml");
	await writeFile(configFile, stringify(config));
	const port = await freePort();
	const binary = findOnPath("prometheus") ?? "prometheus";
	const child = spawn(
		binary,
		[
			`--config.file=${configFile}`,
			`--storage.tsdb.path=${join(dir, "data")}`,
			`--web.listen-address=127.0.0.1:${port}`,
			"--log.level=warn",
		],
		{ stdio: ["ignore", "ignore", "pipe"] },
	);
	let stderr = "";
	child.stderr?.on("data", (chunk) => {
		stderr += chunk;
	});
	const exited = new Promise<void>((resolve) =>
		child.once("exit", () => resolve()),
	);
	t.teardown(async () => {
		await stop(child, exited);
		await rm(dir, { recursive: true, force: true });
	});
	const baseUrl = `http://127.0.0.1:${port}`;
	await waitUntilReady(baseUrl, child, () => stderr);
	const api = async <T>(path: string, params: Record<string, string> = {}) => {
		const url = new URL(path, baseUrl);
		for (const [key, value] of Object.entries(params))
			url.searchParams.set(key, value);
		const response = await fetch(url);
		const body = (await response.json()) as {
			status: string;
			data: T;
			error?: string;
		};
		if (body.status !== "success")
			throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
		return body.data;
	};
	return {
		baseUrl,
		api,
		query: async (expr) =>
			(await api<{ result: Sample[] }>("/api/v1/query", { query: expr }))
				.result,
	};
}

async function waitUntilReady(
	baseUrl: string,
	child: ChildProcess,
	stderr: () => string,
): Promise<void> {
	const deadline = Date.now() + 30_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null)
			throw new Error(`prometheus exited with ${child.exitCode}: ${stderr()}`);
		try {
			if ((await fetch(`${baseUrl}/-/ready`)).ok) return;
		} catch {
			// Not listening yet.
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new Error(`prometheus not ready within 30 s: ${stderr()}`);
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	child.kill("SIGTERM");
	const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
	await exited;
	clearTimeout(timer);
}
