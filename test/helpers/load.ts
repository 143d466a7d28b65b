/**
 * A bounded load generator for fault tests: a fixed number of clients on
 * loopback, each sending one request after another until stopped, every
 * outcome recorded with its time.
 *
 * @module
 */
import { Agent, request as httpRequest } from "node:http";

/** One request's outcome: an HTTP status, or the socket error's code. */
interface LoadSample {
	/** Milliseconds since the load began, when the request was sent. */
	readonly startedAt: number;
	readonly durationMs: number;
	readonly status?: number;
	readonly error?: string;
	/** The body, kept only for failed answers (to check what they say). */
	readonly body?: string;
}

export interface LoadOptions {
	readonly url: string;
	readonly clients: number;
	/** Reuse sockets between requests (the default), as browsers and proxies do. */
	readonly keepAlive?: boolean;
	/** A client gives up on one request after this long (a hang counts as an error). */
	readonly requestTimeoutMs?: number;
}

/** A running load; `stop` waits for each client's last request. */
export interface Load {
	readonly samples: LoadSample[];
	stop(): Promise<LoadSample[]>;
}

/** Starts `clients` loops of GET requests to `url`. */
export function startLoad(options: LoadOptions): Load {
	const { url, clients, keepAlive = true, requestTimeoutMs = 30_000 } = options;
	const agent = new Agent({ keepAlive, maxSockets: clients });
	const began = Date.now();
	const samples: LoadSample[] = [];
	let running = true;
	const loop = async (): Promise<void> => {
		while (running) {
			const startedAt = Date.now() - began;
			const outcome = await get(url, agent, requestTimeoutMs);
			samples.push({
				startedAt,
				durationMs: Date.now() - began - startedAt,
				...outcome,
			});
			// A refused connection fails at once; don't spin on it.
			if (outcome.error) await new Promise((r) => setTimeout(r, 10));
		}
	};
	const loops = Array.from({ length: clients }, loop);
	return {
		samples,
		async stop() {
			running = false;
			await Promise.all(loops);
			agent.destroy();
			return samples;
		},
	};
}

/** One GET: the status and (for a failure) the body, or the error code. */
export function get(
	url: string,
	agent: Agent | undefined,
	timeoutMs: number,
): Promise<{ status?: number; error?: string; body?: string }> {
	return new Promise((resolve) => {
		const req = httpRequest(url, { agent }, (response) => {
			let body = "";
			response.setEncoding("utf8");
			response.on("data", (chunk) => {
				body += chunk;
			});
			response.on("end", () => {
				const status = response.statusCode ?? 0;
				resolve(status < 400 ? { status } : { status, body });
			});
			response.on("error", (error: NodeJS.ErrnoException) =>
				resolve({ error: error.code ?? error.message }),
			);
		});
		req.setTimeout(timeoutMs, () => req.destroy(new Error("client timeout")));
		req.on("error", (error: NodeJS.ErrnoException) =>
			resolve({ error: error.code ?? error.message }),
		);
		req.end();
	});
}

/** How many of `load`'s requests have been answered 200 so far. */
export function answeredOk(load: Pick<Load, "samples">): number {
	return load.samples.filter((sample) => sample.status === 200).length;
}

/**
 * Resolves once `load` has had `count` answers of 200 in all: a state to
 * wait for (the service is serving this load) rather than a fixed sleep.
 * Rejects after `timeoutMs`.
 */
export async function untilAnswered(
	load: Pick<Load, "samples">,
	count: number,
	timeoutMs = 60_000,
): Promise<void> {
	for (let waited = 0; answeredOk(load) < count; waited += 20) {
		if (waited >= timeoutMs)
			throw new Error(
				`${answeredOk(load)} of ${count} requests answered 200 in ${timeoutMs} ms`,
			);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
