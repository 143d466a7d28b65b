// Child processes for the bench: servers it starts and stops, free ports,
// readiness polling and resident memory from /proc.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const children = new Set();
process.on("exit", () => {
	for (const child of children) child.kill("SIGKILL");
});

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const probe = createServer();
		probe.once("error", reject);
		probe.listen(0, "127.0.0.1", () => {
			const { port } = probe.address();
			probe.close(() => resolve(port));
		});
	});
}

/** Spawns a long-running child (output discarded unless it fails to start); killed when the bench exits. */
export function startProcess(file, args, env) {
	const child = spawn(file, args, { env, stdio: ["ignore", "ignore", "pipe"] });
	let stderr = "";
	child.stderr.on("data", (chunk) => {
		if (stderr.length < 8000) stderr += chunk;
	});
	children.add(child);
	child.once("exit", () => children.delete(child));
	return {
		child,
		pid: child.pid,
		stderr: () => stderr,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise((resolve) => child.once("exit", resolve));
			child.kill("SIGTERM");
			const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
			await exited;
			clearTimeout(timer);
		},
	};
}

/** Polls `url` until it answers 200, or throws after `timeoutMs`. */
export async function waitForOk(url, timeoutMs, proc) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			const response = await fetch(url);
			await response.arrayBuffer();
			if (response.status === 200) return;
		} catch {
			// Not listening yet.
		}
		if (proc && proc.child.exitCode !== null)
			throw new Error(`${url}: the server exited: ${proc.stderr()}`);
		if (Date.now() > deadline)
			throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Resident set size now and its peak since start (VmRSS, VmHWM), in MiB. */
export function memoryOf(pid) {
	const status = readFileSync(`/proc/${pid}/status`, "utf8");
	const kib = (key) =>
		Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1]);
	return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds `pid` has used so far, user and system (/proc/PID/stat). */
export function cpuSecondsOf(pid) {
	const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	// Fields after the command name, which is in parentheses and may hold spaces.
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}
