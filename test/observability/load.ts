/** A short, bounded HTTP load on a running `serve`, for the live Prometheus test. */

/** What the load requests, round-robin: pages, a stream, a bad parameter, an unknown path, liveness. */
const REQUESTS: readonly { path: string; accept?: string }[] = [
	{ path: "/users" },
	{ path: "/users?limit=2" },
	{ path: "/users?limit=2&after=1" },
	{ path: "/users", accept: "application/x-ndjson" },
	{ path: "/users?limit=abc" },
	{ path: "/no/such/path" },
	{ path: "/health" },
];

export interface LoadOptions {
	readonly baseUrl: string;
	readonly durationMs: number;
	readonly concurrency: number;
}

/** Sends requests from `concurrency` loops for `durationMs`; returns the count of responses by status. */
export async function runLoad(
	options: LoadOptions,
): Promise<Map<number, number>> {
	const statuses = new Map<number, number>();
	const deadline = Date.now() + options.durationMs;
	let next = 0;
	const worker = async () => {
		while (Date.now() < deadline) {
			const request = REQUESTS[next++ % REQUESTS.length] ?? { path: "/" };
			const response = await fetch(`${options.baseUrl}${request.path}`, {
				headers: request.accept ? { Accept: request.accept } : {},
			});
			await response.arrayBuffer();
			statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
		}
	};
	await Promise.all(Array.from({ length: options.concurrency }, worker));
	return statuses;
}
