/**
 * A network namespace of its own for the containers of one test "pod", as
 * Kubernetes gives each pod: they listen on the manifest's fixed ports (8080,
 * 9090) without clashing with anything on this shared machine, and reach
 * each other on 127.0.0.1.
 *
 * The namespace has only a loopback interface. A small bridge process inside
 * it connects it to the outside through Unix sockets in a temp dir, which the
 * namespace cannot hide (they are files):
 * - `forward`: a port on the pod's 127.0.0.1 (say 5432) reaches a TCP
 *   address of the host (the test PostgreSQL), byte for byte, so TLS works
 *   end to end;
 * - `expose`: the test reaches a pod port through {@link PodSandbox.get}.
 *
 * Needs root (`ip netns add`) and iproute2.
 *
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Test } from "tap";

/** Options of {@link startPodSandbox}. */
export interface PodSandboxOptions {
	/** Pod ports the test will call with {@link PodSandbox.get}. */
	readonly expose: readonly number[];
	/** Pod port → host TCP address it reaches (e.g. 5432 → the test PostgreSQL). */
	readonly forward: Readonly<Record<number, { host: string; port: number }>>;
}

/** A running sandbox. */
export interface PodSandbox {
	/** `ns:/run/netns/<name>`, for `podman run --network`. */
	readonly network: string;
	/** GETs `path` on a pod port (one of `expose`); never rejects on a status. */
	get(port: number, path: string, timeoutMs?: number): Promise<HttpAnswer>;
}

/** Status and body of an HTTP answer. */
interface HttpAnswer {
	readonly status: number;
	readonly body: string;
}

/** Runs inside the namespace (plain CommonJS for `node -e`): TCP <-> Unix socket pipes. */
const BRIDGE_SCRIPT = `
const net = require("node:net");
const config = JSON.parse(process.argv[1]);
const pipe = (a, b) => {
	a.on("error", () => b.destroy());
	b.on("error", () => a.destroy());
	a.pipe(b).pipe(a);
};
let pending = config.forward.length + config.expose.length;
const listening = () => { if (--pending === 0) console.log("ready"); };
for (const { port, socket } of config.forward)
	net.createServer((c) => pipe(c, net.connect(socket))).listen(port, "127.0.0.1", listening);
for (const { port, socket } of config.expose)
	net.createServer((c) => pipe(c, net.connect(port, "127.0.0.1"))).listen(socket, listening);
`;

/** Makes the namespace and its bridge; both go away when the test ends. */
export async function startPodSandbox(
	t: Pick<Test, "teardown">,
	options: PodSandboxOptions,
): Promise<PodSandbox> {
	const name = `sherpany-pod-${process.pid}-${randomBytes(3).toString("hex")}`;
	const dir = await mkdtemp(join(tmpdir(), "sherpany-pod-"));
	const servers: ReturnType<typeof createServer>[] = [];
	let bridge: ReturnType<typeof spawn> | undefined;
	t.teardown(async () => {
		bridge?.kill("SIGKILL");
		await Promise.all(
			servers.map((s) => new Promise((resolve) => s.close(resolve))),
		);
		await exec("ip", ["netns", "del", name]).catch(() => {});
		await rm(dir, { recursive: true, force: true });
	});
	await exec("ip", ["netns", "add", name]);
	await exec("ip", ["-n", name, "link", "set", "lo", "up"]);

	const forward = [];
	for (const [port, target] of Object.entries(options.forward)) {
		const socket = join(dir, `forward-${port}.sock`);
		const server = createServer((client) =>
			pipe(client, createConnection(target.port, target.host)),
		);
		servers.push(server);
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(socket, resolve);
		});
		forward.push({ port: Number(port), socket });
	}
	const expose = options.expose.map((port) => ({
		port,
		socket: join(dir, `expose-${port}.sock`),
	}));
	bridge = spawn(
		"ip",
		[
			"netns",
			"exec",
			name,
			process.execPath,
			"-e",
			BRIDGE_SCRIPT,
			JSON.stringify({ forward, expose }),
		],
		// Not tap's loaders: the bridge is plain JavaScript.
		{
			env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
			stdio: ["ignore", "pipe", "pipe"],
		},
	);
	await new Promise<void>((resolve, reject) => {
		let stderr = "";
		bridge?.stderr?.on("data", (chunk) => {
			stderr += chunk;
		});
		bridge?.stdout?.on("data", (chunk: Buffer) => {
			if (chunk.toString().includes("ready")) resolve();
		});
		bridge?.once("exit", (code) =>
			reject(new Error(`the pod bridge exited ${code}: ${stderr}`)),
		);
	});
	const sockets = new Map(expose.map((e) => [e.port, e.socket]));
	return {
		network: `ns:/run/netns/${name}`,
		get(port, path, timeoutMs = 5000) {
			const socketPath = sockets.get(port);
			if (!socketPath) throw new Error(`pod port ${port} is not exposed`);
			return httpGet(socketPath, port, path, timeoutMs);
		},
	};
}

function pipe(a: Socket, b: Socket): void {
	a.on("error", () => b.destroy());
	b.on("error", () => a.destroy());
	a.pipe(b).pipe(a);
}

function httpGet(
	socketPath: string,
	port: number,
	path: string,
	timeoutMs: number,
): Promise<HttpAnswer> {
	return new Promise((resolve, reject) => {
		const req = request(
			{
				socketPath,
				path,
				headers: { host: `127.0.0.1:${port}`, connection: "close" },
				timeout: timeoutMs,
			},
			(response) => {
				let body = "";
				response.setEncoding("utf8");
				response.on("data", (chunk: string) => {
					body += chunk;
				});
				response.on("end", () =>
					resolve({ status: response.statusCode ?? 0, body }),
				);
			},
		);
		req.on("timeout", () =>
			req.destroy(new Error(`GET :${port}${path} timed out`)),
		);
		req.on("error", reject);
		req.end();
	});
}

function exec(file: string, args: readonly string[]): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(file, [...args], (error, stdout, stderr) => {
			if (error)
				reject(
					new Error(`${file} ${args.join(" ")} failed: ${stderr.trim()}`, {
						cause: error,
					}),
				);
			else resolve(stdout);
		});
	});
}
