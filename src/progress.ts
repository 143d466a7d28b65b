/**
 * Progress for long work: a self-updating line on a terminal, with the rate
 * and, when the total is known, the time left; nothing when the output is a
 * pipe or a log (the summary line says what happened).
 */

export interface ProgressStream {
	readonly isTTY?: boolean;
	write(chunk: string): unknown;
}

export interface Progress {
	/** Reports that `done` units are finished. */
	update(done: number): void;
	/** Clears the progress line. */
	finish(): void;
}

/** Redraws at most this often, so progress never slows the work down. */
const REDRAW_EVERY_MS = 100;

/** Below this much elapsed time a rate is noise, so none is shown. */
const MIN_ELAPSED_FOR_RATE_MS = 200;

/**
 * A progress line on `stream` if it is a terminal; `total` may be unknown.
 * `now` (milliseconds) is injectable so tests control the clock.
 */
export function createProgress(
	stream: ProgressStream,
	label: string,
	total?: number,
	now: () => number = () => performance.now(),
): Progress {
	if (!stream.isTTY) return { update() {}, finish() {} };
	const started = now();
	let lastDraw = Number.NEGATIVE_INFINITY;
	return {
		update(done) {
			const at = now();
			if (at - lastDraw < REDRAW_EVERY_MS && done !== total) return;
			lastDraw = at;
			stream.write(
				`\r\x1b[K${formatProgress(label, done, total, at - started)}`,
			);
		},
		finish() {
			stream.write("\r\x1b[K");
		},
	};
}

/**
 * One progress line: `users inserted: 48% 1440000/3000000, 52,300/s, 30 s left`.
 * The rate is the average since the start, steadier than the last batch's.
 */
export function formatProgress(
	label: string,
	done: number,
	total: number | undefined,
	elapsedMs: number,
): string {
	const percent = total ? ` ${Math.floor((done / total) * 100)}%` : "";
	const of = total ? `/${total}` : "";
	let line = `${label}:${percent} ${done}${of}`;
	if (elapsedMs >= MIN_ELAPSED_FOR_RATE_MS && done > 0) {
		const perSecond = done / (elapsedMs / 1000);
		line += `, ${Math.round(perSecond).toLocaleString("en-US")}/s`;
		if (total && done < total)
			line += `, ${formatDuration((total - done) / perSecond)} left`;
	}
	return line;
}

/** `42 s`, `3 min 05 s`, `2 h 07 min`: a time left, rounded up to the second. */
export function formatDuration(seconds: number): string {
	const whole = Math.ceil(seconds);
	if (whole < 60) return `${whole} s`;
	const minutes = Math.floor(whole / 60);
	if (minutes < 60)
		return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
	return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
