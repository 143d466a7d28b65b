/**
 * Coalesces concurrent calls of an async function: while one call is
 * running, every other call gets its promise instead of starting another.
 * A flood of callers then costs one run at a time, however many there are.
 */
export function shareInFlight<T>(run: () => Promise<T>): () => Promise<T> {
	let running: Promise<T> | undefined;
	return () => {
		running ??= run().finally(() => {
			running = undefined;
		});
		return running;
	};
}
