/** How `serve` ends: on SIGTERM or SIGINT, with a watchdog. */

/**
 * Resolves after a clean shutdown on SIGTERM or SIGINT. A second signal, or a
 * shutdown that overruns `deadlineMs` (plus a margin), exits at once with 1.
 */
export function waitForShutdownSignal(
	running: { shutdown(reason: string): Promise<void> },
	deadlineMs: number,
): Promise<void> {
	return new Promise((resolve, reject) => {
		// One listener for both signals, kept registered: Deno (2.9) also hands a
		// signal to listeners added while that signal is being dispatched, so a
		// "second signal" listener added here would fire at once and exit 1.
		let signalled = false;
		const onSignal = (signal: NodeJS.Signals): void => {
			if (signalled) process.exit(1);
			signalled = true;
			setTimeout(() => process.exit(1), deadlineMs + 5000).unref();
			running.shutdown(signal).then(resolve, reject);
		};
		process.on("SIGTERM", onSignal);
		process.on("SIGINT", onSignal);
	});
}
