/** Waiting for a state in tests, instead of for the clock. */
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `condition` every 20 ms until it holds; throws, naming `what`, after `timeoutMs`. */
export async function waitFor(
	what: string,
	condition: () => boolean | Promise<boolean>,
	timeoutMs = 15_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await condition())) {
		if (Date.now() > deadline)
			throw new Error(`${what}: not after ${timeoutMs} ms`);
		await sleep(20);
	}
}
