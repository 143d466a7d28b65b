/**
 * Progress for long work: a self-updating line on a terminal, nothing when
 * the output is a pipe or a log (the summary line says what happened).
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

/** A progress line on `stream` if it is a terminal; `total` may be unknown. */
export function createProgress(
	stream: ProgressStream,
	label: string,
	total?: number,
): Progress {
	if (!stream.isTTY) return { update() {}, finish() {} };
	let lastDraw = 0;
	return {
		update(done) {
			const now = Date.now();
			if (now - lastDraw < REDRAW_EVERY_MS && done !== total) return;
			lastDraw = now;
			const percent = total ? ` ${Math.floor((done / total) * 100)}%` : "";
			const of = total ? `/${total}` : "";
			stream.write(`\r\x1b[K${label}:${percent} ${done}${of}`);
		},
		finish() {
			stream.write("\r\x1b[K");
		},
	};
}
