/** How `serve` ends: SIGTERM or SIGINT, a second signal, or a watchdog. */

export interface ShutdownSignals {
	/** Settles with the first SIGTERM or SIGINT. */
	readonly first: Promise<NodeJS.Signals>;
}

/** Called on the second signal, just before the process exits 1 (to log why). */
export type OnSecondSignal = (signal: NodeJS.Signals) => void;

/**
 * Listens for SIGTERM and SIGINT from now on, so that a signal during a slow
 * start (creating the embedded database) is kept rather than killing the
 * process mid-way. A second signal calls `onSecond`, then exits at once with
 * code 1.
 */
export function catchShutdownSignals(
	onSecond: OnSecondSignal = () => {},
): ShutdownSignals {
	let received = false;
	let settle: (signal: NodeJS.Signals) => void = () => {};
	const first = new Promise<NodeJS.Signals>((resolve) => {
		settle = resolve;
	});
	// One listener for both signals, kept registered: Deno (2.9) also hands a
	// signal to listeners added while that signal is being dispatched, so a
	// "second signal" listener added in here would fire at once.
	const onSignal = (signal: NodeJS.Signals): void => {
		if (received) {
			onSecond(signal);
			process.exit(1);
		}
		received = true;
		settle(signal);
	};
	process.on("SIGTERM", onSignal);
	process.on("SIGINT", onSignal);
	return { first };
}

/**
 * Exits with code 1 if the process is still running after `ms`, calling
 * `onOverrun` first (to log why). The timer does not keep the process alive.
 */
export function exitIfStillRunningAfter(
	ms: number,
	onOverrun: () => void,
): void {
	setTimeout(() => {
		onOverrun();
		process.exit(1);
	}, ms).unref();
}
