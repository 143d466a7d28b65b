/**
 * Hostile clients against a running container, and what is measured while
 * they run: the image suite's short run (test/image/hostile-clients.test.ts)
 * and the full one in bench/soak.mjs (SOAK_SCENARIO=hostile) share it. All
 * traffic goes to 127.0.0.1; every load stops when its `stop()` is called.
 *
 * - stalled NDJSON clients: ask for the export, read 4 KiB, then nothing;
 *   when the server ends or refuses them they come back;
 * - slow readers: `GET /users?limit=1000` read at a fixed rate (1 KiB/s),
 *   the next request on the same connection once a page is complete;
 * - idle keep-alive connections: one `GET /health`, then silence; when the
 *   server closes one, another is opened, so `count` stay open;
 * - a well-behaved client: `GET /users` on a keep-alive connection, ten a
 *   second, each timed;
 * - the liveness probe: `check-health` run in the container with `podman
 *   exec`, every few seconds;
 * - the container's memory, from its cgroup.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { findObject, kustomize } from "./kustomize.ts";
import { PODMAN } from "./podman.ts";

const run = promisify(execFile);

/** A running load: counts of what happened, and how to stop it. */
interface Load {
	readonly counts: Record<string, number>;
	stop(): Promise<void>;
}

/** `Mi`, `Gi`, `M`, `G` or plain bytes, as Kubernetes writes a quantity. */
function parseQuantity(quantity: string): number {
	const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
	if (!match) throw new Error(`not a memory quantity: ${quantity}`);
	const units: Record<string, number> = {
		Ki: 2 ** 10,
		Mi: 2 ** 20,
		Gi: 2 ** 30,
		K: 1e3,
		M: 1e6,
		G: 1e9,
	};
	return Number(match[1]) * (units[match[2] ?? ""] ?? 1);
}

/** The `sherpany` container's memory limit in bytes, from the rendered overlay. */
export async function deploymentMemoryLimit(
	overlay = "overlays/release",
): Promise<number> {
	type Deployment = {
		spec: {
			template: {
				spec: {
					containers: {
						name: string;
						resources?: { limits?: { memory?: string } };
					}[];
				};
			};
		};
	};
	const deployment = findObject<Deployment>(
		await kustomize(overlay),
		"Deployment",
		"sherpany",
	);
	const memory = deployment.spec.template.spec.containers.find(
		(container) => container.name === "sherpany",
	)?.resources?.limits?.memory;
	if (!memory)
		throw new Error(`${overlay}: the sherpany container has no memory limit`);
	return parseQuantity(memory);
}

/** Counts a thing that happened. */
function bump(counts: Record<string, number>, key: string): void {
	counts[key] = (counts[key] ?? 0) + 1;
}

/** The status of the first response in `head`, once its status line is there. */
function statusOf(head: string): number | undefined {
	const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
	return match ? Number(match[1]) : undefined;
}

/**
 * Keeps `count` connections made by `open` alive until stopped, opening at
 * most `perTick` every 50 ms: a crowd that arrives over seconds, as one
 * load generator's does, and that does not spin when it reconnects.
 */
function crowd(
	count: number,
	perTick: number,
	open: (done: () => void, counts: Record<string, number>) => Socket,
): Load {
	const counts: Record<string, number> = {};
	const sockets = new Set<Socket>();
	let stopped = false;
	let wanted = count;
	const loop = (async () => {
		while (!stopped) {
			for (let i = 0; i < perTick && wanted > 0 && !stopped; i++) {
				wanted--;
				let released = false;
				const release = (): void => {
					if (released) return;
					released = true;
					sockets.delete(socket);
					socket.destroy();
					wanted++;
				};
				const socket = open(release, counts);
				sockets.add(socket);
				socket.on("error", (error: NodeJS.ErrnoException) => {
					bump(counts, `error ${error.code ?? error.message}`);
					release();
				});
				socket.on("close", release);
			}
			await sleep(50);
		}
	})();
	return {
		counts,
		get open() {
			return sockets.size;
		},
		async stop() {
			stopped = true;
			await loop;
			for (const socket of sockets) socket.destroy();
		},
	} as Load;
}

/** Clients that ask for the NDJSON export, read 4 KiB of it, then nothing. */
function stalledExports(port: number, count: number): Load {
	return crowd(count, 25, (done, counts) => {
		const socket = connect(port, "127.0.0.1");
		let head = "";
		let bytes = 0;
		socket.on("connect", () => {
			bump(counts, "requests");
			socket.write(
				"GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/x-ndjson\r\n\r\n",
			);
		});
		socket.on("data", (chunk: Buffer) => {
			if (bytes === 0) {
				head = chunk.toString("latin1", 0, 16);
				bump(counts, `status ${statusOf(head) ?? "?"}`);
				// A refusal: try again a second later, as a retrying client would.
				if (statusOf(head) !== 200) {
					socket.pause();
					setTimeout(done, 1000).unref();
				}
			}
			bytes += chunk.length;
			if (bytes >= 4096) socket.pause();
		});
		socket.on("end", () => {
			bump(counts, "ended by the server");
			done();
		});
		return socket;
	});
}

/**
 * Clients reading `path` at `bytesPerSecond` over one keep-alive connection
 * each, asking for the next page when one is complete.
 */
function slowReaders(
	port: number,
	count: number,
	bytesPerSecond = 1024,
	path = "/users?limit=1000",
): Load {
	const readers = new Set<() => void>();
	const tickMs = 250;
	const ticker = setInterval(() => {
		for (const read of readers) read();
	}, tickMs);
	const load = crowd(count, 25, (done, counts) => {
		const socket = connect(port, "127.0.0.1");
		let received = Buffer.alloc(0);
		let expected = Number.POSITIVE_INFINITY;
		const ask = (): void => {
			bump(counts, "requests");
			received = Buffer.alloc(0);
			expected = Number.POSITIVE_INFINITY;
			socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
		};
		const read = (): void => {
			const chunk = socket.read(
				Math.min(socket.readableLength, (bytesPerSecond * tickMs) / 1000),
			) as Buffer | null;
			if (!chunk) return;
			received = Buffer.concat([received, chunk]);
			if (expected === Number.POSITIVE_INFINITY) {
				const end = received.indexOf("\r\n\r\n");
				if (end === -1) return;
				const head = received.toString("latin1", 0, end);
				bump(counts, `status ${statusOf(head) ?? "?"}`);
				const length = /content-length: (\d+)/i.exec(head)?.[1];
				expected = end + 4 + Number(length ?? 0);
			}
			if (received.length >= expected) {
				bump(counts, "pages read");
				ask();
			}
		};
		socket.on("connect", () => {
			readers.add(read);
			ask();
		});
		socket.on("close", () => readers.delete(read));
		socket.on("end", () => {
			bump(counts, "ended by the server");
			done();
		});
		// Paused: nothing leaves the socket's buffers but what `read` takes.
		socket.pause();
		return socket;
	});
	return {
		counts: load.counts,
		async stop() {
			clearInterval(ticker);
			await load.stop();
		},
	};
}

/** `count` connections that each send one `GET /health` and then stay silent. */
function idleConnections(port: number, count: number): Load {
	return crowd(count, 100, (done, counts) => {
		const socket = connect(port, "127.0.0.1");
		socket.on("connect", () => {
			bump(counts, "connections");
			socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
		});
		socket.on("data", () => {});
		socket.on("end", () => {
			bump(counts, "closed by the server");
			done();
		});
		return socket;
	});
}

/** What the well-behaved client saw. */
interface WellBehaved {
	readonly latenciesMs: number[];
	readonly statuses: Record<string, number>;
	stop(): Promise<void>;
}

/**
 * The well-behaved client's loop, in a worker thread of its own: the
 * thousands of hostile sockets of this process must not delay its timing.
 */
const WELL_BEHAVED_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { Agent, request } = require("node:http");
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let stopped = false;
parentPort.on("message", () => { stopped = true; });
const one = () => new Promise((resolve) => {
	const req = request(workerData.url, { agent }, (response) => {
		response.resume();
		response.on("end", () => resolve(String(response.statusCode)));
		response.on("error", (error) => resolve(error.message));
	});
	req.setTimeout(10000, () => req.destroy(new Error("timeout")));
	req.on("error", (error) => resolve(error.code || error.message));
	req.end();
});
(async () => {
	while (!stopped) {
		const began = performance.now();
		const status = await one();
		parentPort.postMessage({ ms: performance.now() - began, status });
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	agent.destroy();
	parentPort.close();
})();
`;

/** `GET /users` ten times a second on one keep-alive connection, each timed. */
function wellBehavedClient(baseUrl: string): WellBehaved {
	const latenciesMs: number[] = [];
	const statuses: Record<string, number> = {};
	const worker = new Worker(WELL_BEHAVED_WORKER, {
		eval: true,
		workerData: { url: `${baseUrl}/users` },
	});
	worker.on("message", ({ ms, status }: { ms: number; status: string }) => {
		latenciesMs.push(ms);
		statuses[status] = (statuses[status] ?? 0) + 1;
	});
	const exited = new Promise((resolve) => worker.once("exit", resolve));
	return {
		latenciesMs,
		statuses,
		async stop() {
			worker.postMessage("stop");
			await exited;
		},
	};
}

/** The `p` quantile (0..1) of `values`. */
function quantile(values: readonly number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	if (sorted.length === 0) return Number.NaN;
	return (
		sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ??
		Number.NaN
	);
}

/** The liveness probe's runs: exit codes and durations. */
interface Probes {
	readonly results: { code: number; ms: number; output: string }[];
	stop(): Promise<void>;
}

/** Runs `check-health` in `container` every `everyMs`, as the kubelet would. */
function probeLiveness(container: string, everyMs = 5000): Probes {
	const results: Probes["results"] = [];
	let stopped = false;
	const loop = (async () => {
		while (!stopped) {
			const began = performance.now();
			const result = await run(PODMAN, [
				"exec",
				container,
				"/usr/local/bin/sherpany",
				"check-health",
			]).then(
				(done) => ({ code: 0, output: done.stdout + done.stderr }),
				(error: { code?: number; stdout?: string; stderr?: string }) => ({
					code: typeof error.code === "number" ? error.code : -1,
					output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
				}),
			);
			results.push({ ...result, ms: Math.round(performance.now() - began) });
			await sleep(everyMs);
		}
	})();
	return {
		results,
		async stop() {
			stopped = true;
			await loop;
		},
	};
}

/** The container's memory: usage, and the working set (usage less inactive file pages, as the kubelet counts it). */
interface MemorySample {
	readonly usageBytes: number;
	readonly workingSetBytes: number;
}

/** Reads the container's memory from its cgroup (v1 or v2). */
async function containerMemoryReader(
	container: string,
): Promise<() => Promise<MemorySample>> {
	const { stdout } = await run(PODMAN, [
		"inspect",
		"--format",
		"{{.State.CgroupPath}}",
		container,
	]);
	const cgroup = stdout.trim();
	const candidates = [
		{
			usage: `/sys/fs/cgroup${cgroup}/memory.current`,
			stat: `/sys/fs/cgroup${cgroup}/memory.stat`,
			inactive: "inactive_file",
		},
		{
			usage: `/sys/fs/cgroup/memory${cgroup}/memory.usage_in_bytes`,
			stat: `/sys/fs/cgroup/memory${cgroup}/memory.stat`,
			inactive: "total_inactive_file",
		},
	];
	for (const files of candidates) {
		const usage = await readFile(files.usage, "utf8").catch(() => undefined);
		if (usage === undefined) continue;
		return async () => {
			const [used, stat] = await Promise.all([
				readFile(files.usage, "utf8"),
				readFile(files.stat, "utf8"),
			]);
			const inactive = Number(
				new RegExp(`^${files.inactive} (\\d+)$`, "m").exec(stat)?.[1] ?? 0,
			);
			const usageBytes = Number(used.trim());
			return {
				usageBytes,
				workingSetBytes: Math.max(0, usageBytes - inactive),
			};
		};
	}
	throw new Error(`no memory cgroup file for ${container} (${cgroup})`);
}

/** Whether the container is still the one that started: running, never restarted or OOM-killed. */
export async function containerState(container: string): Promise<{
	running: boolean;
	restarts: number;
	oomKilled: boolean;
	startedAt: string;
}> {
	const { stdout } = await run(PODMAN, [
		"inspect",
		"--format",
		"{{.State.Running}} {{.RestartCount}} {{.State.OOMKilled}} {{.State.StartedAt}}",
		container,
	]);
	const [running, restarts, oomKilled, ...started] = stdout.trim().split(" ");
	return {
		running: running === "true",
		restarts: Number(restarts),
		oomKilled: oomKilled === "true",
		startedAt: started.join(" "),
	};
}

/** The sizes of a hostile run. */
export interface HostileRunOptions {
	readonly container: string;
	readonly port: number;
	readonly phaseSeconds: number;
	readonly stalled: number;
	readonly slow: number;
	readonly idle: number;
	/** How often `check-health` runs in the container. */
	readonly probeEveryMs?: number;
	/** Called with a line of progress now and then. */
	readonly log?: (line: string) => void;
}

/** What one phase saw. */
export interface PhaseReport {
	readonly phase: string;
	readonly seconds: number;
	readonly peakWorkingSetBytes: number;
	readonly peakUsageBytes: number;
	readonly wellBehaved: {
		readonly requests: number;
		readonly p50Ms: number;
		readonly p99Ms: number;
		readonly maxMs: number;
		readonly statuses: Record<string, number>;
	};
	readonly probes: {
		readonly runs: number;
		readonly failed: Probes["results"];
		readonly maxMs: number;
	};
	readonly load: Record<string, number>;
}

/**
 * Runs the three hostile loads one after the other, each for
 * `phaseSeconds`, with the well-behaved client, the probe and the memory
 * sampler running throughout each.
 */
export async function runHostilePhases(
	options: HostileRunOptions,
): Promise<PhaseReport[]> {
	const readMemory = await containerMemoryReader(options.container);
	const phases: [string, () => Load][] = [
		[
			`${options.stalled} stalled NDJSON clients`,
			() => stalledExports(options.port, options.stalled),
		],
		[
			`${options.slow} clients reading /users?limit=1000 at 1 KiB/s`,
			() => slowReaders(options.port, options.slow),
		],
		[
			`${options.idle} idle keep-alive connections`,
			() => idleConnections(options.port, options.idle),
		],
	];
	const reports: PhaseReport[] = [];
	for (const [phase, start] of phases) {
		options.log?.(`phase: ${phase}, ${options.phaseSeconds} s`);
		const began = performance.now();
		const load = start();
		const client = wellBehavedClient(`http://127.0.0.1:${options.port}`);
		const probes = probeLiveness(options.container, options.probeEveryMs);
		let peakWorkingSetBytes = 0;
		let peakUsageBytes = 0;
		while (performance.now() - began < options.phaseSeconds * 1000) {
			const sample = await readMemory();
			peakWorkingSetBytes = Math.max(
				peakWorkingSetBytes,
				sample.workingSetBytes,
			);
			peakUsageBytes = Math.max(peakUsageBytes, sample.usageBytes);
			await sleep(500);
			const elapsed = Math.round((performance.now() - began) / 1000);
			if (elapsed % 10 === 0)
				options.log?.(
					`  ${elapsed} s: working set ${(sample.workingSetBytes / 2 ** 20).toFixed(1)} MiB, well-behaved p99 ${quantile(client.latenciesMs, 0.99).toFixed(1)} ms, load ${JSON.stringify(load.counts)}`,
				);
		}
		await Promise.all([load.stop(), client.stop(), probes.stop()]);
		reports.push({
			phase,
			seconds: Math.round((performance.now() - began) / 1000),
			peakWorkingSetBytes,
			peakUsageBytes,
			wellBehaved: {
				requests: client.latenciesMs.length,
				p50Ms: +quantile(client.latenciesMs, 0.5).toFixed(1),
				p99Ms: +quantile(client.latenciesMs, 0.99).toFixed(1),
				maxMs: +Math.max(...client.latenciesMs).toFixed(1),
				statuses: client.statuses,
			},
			probes: {
				runs: probes.results.length,
				failed: probes.results.filter((result) => result.code !== 0),
				maxMs: Math.max(...probes.results.map((result) => result.ms)),
			},
			load: { ...load.counts },
		});
	}
	return reports;
}

/** Counts the lines of a full NDJSON export. */
export function countExportRows(baseUrl: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = request(
			`${baseUrl}/users`,
			{ headers: { Accept: "application/x-ndjson" } },
			(response) => {
				if (response.statusCode !== 200) {
					reject(new Error(`the export answered ${response.statusCode}`));
					response.resume();
					return;
				}
				let rows = 0;
				response.on("data", (chunk: Buffer) => {
					for (const byte of chunk) if (byte === 0x0a) rows++;
				});
				response.on("end", () => resolve(rows));
				response.on("error", reject);
			},
		);
		req.on("error", reject);
		req.end();
	});
}
