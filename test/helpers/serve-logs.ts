/**
 * Runs `serve` with its stdout on a real pseudo-terminal, made by script(1)
 * (util-linux, in every Debian), or on a pipe, sends it one request, stops
 * it as a person or an orchestrator would, and returns what it logged, in
 * whichever format it chose.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import type { Test } from "tap";
import { freePort } from "./free-port.ts";

export interface LoggedServeOptions {
	/** A sherpany executable: bin/sherpany, dist/sherpany, the Deno fixture. */
	readonly command: string;
	/** Exactly the environment to run it with; PORT and HOST are added. */
	readonly env: Record<string, string>;
	/** stdout on a pseudo-terminal, else on a pipe. */
	readonly terminal: boolean;
	/** The X-Request-Id of the one `GET /users` sent once it listens. */
	readonly requestId: string;
}

export interface LoggedServe {
	/** Every line printed on stdout, without the terminal's carriage returns. */
	readonly lines: readonly string[];
	readonly stderr: string;
	readonly code: number | string;
}

/** `text` without its colours (and any other terminal escape sequence). */
export function withoutColour(text: string): string {
	return stripVTControlCharacters(text);
}

/** True when `text` holds a colour (or another terminal escape sequence). */
export function isColoured(text: string): boolean {
	return withoutColour(text) !== text;
}

/** The first line that says serve is listening, in either format. */
const LISTENING = /"msg":"listening"|INFO: listening/;

const shellQuote = (word: string): string =>
	`'${word.replaceAll("'", `'\\''`)}'`;

/** Starts serve, sends the request once it listens, stops it, and returns its output. */
export async function runLoggedServe(
	t: Pick<Test, "teardown">,
	options: LoggedServeOptions,
): Promise<LoggedServe> {
	const port = await freePort();
	const env = { ...options.env, PORT: String(port), HOST: "127.0.0.1" };
	const child = options.terminal
		? spawn(
				"script",
				["-qefc", `exec ${shellQuote(options.command)} serve`, "/dev/null"],
				{ env, stdio: ["pipe", "pipe", "pipe"] },
			)
		: spawn(options.command, ["serve"], {
				env,
				stdio: ["ignore", "pipe", "pipe"],
			});
	const output = collect(t, child);
	await output.until((line) => LISTENING.test(withoutColour(line)));
	const response = await fetch(`http://127.0.0.1:${port}/users`, {
		headers: { "X-Request-Id": options.requestId },
	});
	await response.arrayBuffer();
	await output.until((line) => line.includes(options.requestId));
	// Ctrl-C typed at the terminal, or an orchestrator's SIGTERM.
	if (options.terminal) child.stdin?.write("\x03");
	else child.kill("SIGTERM");
	const code = await output.exited;
	await output.ended;
	return { lines: output.lines, stderr: output.stderr(), code };
}

/** Collects the child's output line by line; it is killed at teardown if still running. */
function collect(t: Pick<Test, "teardown">, child: ChildProcess) {
	const lines: string[] = [];
	let buffered = "";
	let stderr = "";
	const waiting = new Set<() => void>();
	child.stderr?.on("data", (chunk) => {
		stderr += chunk;
	});
	child.stdout?.on("data", (chunk) => {
		buffered += chunk;
		const parts = buffered.split("\n");
		buffered = parts.pop() ?? "";
		lines.push(...parts.map((line) => line.replace(/\r$/, "")));
		for (const wake of waiting) wake();
	});
	const ended = new Promise<void>((resolve) =>
		child.stdout?.once("end", () => resolve()),
	);
	const exited = new Promise<number | string>((resolve) =>
		child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
	);
	t.teardown(() => {
		if (child.exitCode === null && child.signalCode === null)
			child.kill("SIGKILL");
		return exited;
	});
	/** Resolves once a line satisfies `test`; rejects if the child exits first. */
	const until = (test: (line: string) => boolean): Promise<void> =>
		new Promise((resolve, reject) => {
			const check = () => {
				if (!lines.some(test)) return;
				waiting.delete(check);
				resolve();
			};
			waiting.add(check);
			check();
			exited.then((code) =>
				reject(
					new Error(
						`exited with ${code} before the line awaited: ${stderr}\n${lines.join("\n")}`,
					),
				),
			);
		});
	return { lines, stderr: () => stderr, exited, ended, until };
}
