/**
 * A TCP proxy that behaves like a Kubernetes Service: it polls each
 * backend's `/ready` and sends new connections only to backends whose last
 * answer was 200 (round robin). Connections already open stay with their
 * backend, as kube-proxy's do.
 *
 * @module
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { get } from "./load.ts";

export interface ReadyProxy {
	readonly port: number;
	/** Adds a backend (polled from now on). */
	add(port: number): void;
	/** Stops polling a backend; its open connections are left alone. */
	remove(port: number): void;
	/** Resolves once `port` has answered `/ready` with 200 (rejects after `timeoutMs`). */
	waitReady(port: number, timeoutMs?: number): Promise<void>;
	/** Connections that found no ready backend (each one a failed request). */
	readonly refused: () => number;
	close(): Promise<void>;
}

/** How often each backend's `/ready` is polled (a Kubernetes probe's periodSeconds, scaled down). */
const POLL_MS = 100;

/** Starts the proxy on a free port of 127.0.0.1. */
export async function startReadyProxy(): Promise<ReadyProxy> {
	const ready = new Map<number, boolean>();
	const sockets = new Set<Socket>();
	let next = 0;
	let refused = 0;
	let polling = true;
	const poll = async (): Promise<void> => {
		while (polling) {
			await Promise.all(
				[...ready.keys()].map(async (port) => {
					const answer = await get(
						`http://127.0.0.1:${port}/ready`,
						undefined,
						POLL_MS * 5,
					);
					if (ready.has(port)) ready.set(port, answer.status === 200);
				}),
			);
			await new Promise((resolve) => setTimeout(resolve, POLL_MS));
		}
	};
	const polled = poll();
	const server: Server = createServer((client) => {
		const candidates = [...ready].filter(([, ok]) => ok).map(([port]) => port);
		if (candidates.length === 0) {
			refused += 1;
			client.destroy();
			return;
		}
		next += 1;
		const upstream = connect(
			candidates[next % candidates.length] ?? 0,
			"127.0.0.1",
		);
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.on("close", () => sockets.delete(socket));
		}
		// A reset on one side is passed on as a reset, so the client sees it.
		client.on("error", () => upstream.destroy());
		upstream.on("error", () => client.resetAndDestroy());
		client.pipe(upstream);
		upstream.pipe(client);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	if (address === null || typeof address === "string")
		throw new Error("no port");
	return {
		port: address.port,
		add: (port) => ready.set(port, false),
		remove: (port) => ready.delete(port),
		async waitReady(port, timeoutMs = 20_000) {
			for (let waited = 0; waited < timeoutMs; waited += 20) {
				if (ready.get(port)) return;
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			throw new Error(`backend ${port} not ready in ${timeoutMs} ms`);
		},
		refused: () => refused,
		async close() {
			polling = false;
			await polled;
			for (const socket of sockets) socket.destroy();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}
