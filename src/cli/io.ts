/** Where the CLI writes; injected so tests can capture it. */
export interface Io {
	readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
	readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The process's own streams, each created when first written to (a healthy probe never needs stderr). */
export const processIo: Io = {
	get stdout() {
		return process.stdout;
	},
	get stderr() {
		return process.stderr;
	},
};
