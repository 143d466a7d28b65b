/** Bounding how long a piece of async work may take. */

/** What `withTimeout` rejects with when the work did not settle in time. */
export class TimeoutError extends Error {
	override name = "TimeoutError";
	readonly timeoutMs: number;
	constructor(timeoutMs: number) {
		super(`no answer within ${timeoutMs} ms`);
		this.timeoutMs = timeoutMs;
	}
}

/**
 * Settles as `work` does, or rejects with a `TimeoutError` after `ms`. The
 * work itself is not cancelled; the timer is cleared either way, so it never
 * holds the process open.
 */
export async function withTimeout<T>(
	ms: number,
	work: () => Promise<T>,
): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
	});
	try {
		return await Promise.race([work(), timeout]);
	} finally {
		clearTimeout(timer);
	}
}
