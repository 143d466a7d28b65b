// Runs wrk (from apt: `apt-get install -y wrk`) and reads its summary.
import { spawn, spawnSync } from "node:child_process";

/** Throws, saying how to install it, when wrk is not on PATH. */
export function requireWrk() {
	const probe = spawnSync("wrk", ["--version"], { encoding: "utf8" });
	if (probe.error)
		throw new Error(
			"wrk is missing: install it with `apt-get install -y wrk` (Debian), then run the bench again",
		);
}

/**
 * `wrk -t2 -c<connections> -d<seconds>s --latency <url>`, keep-alive.
 * Returns requests/s, the requests answered, p50 and p99 latency (ms) and
 * the count of non-2xx answers.
 */
export function runWrk(url, { connections, seconds, headers = [] }) {
	const args = [
		"-t2",
		`-c${connections}`,
		`-d${seconds}s`,
		"--latency",
		...headers.flatMap((header) => ["-H", header]),
		url,
	];
	return new Promise((resolve, reject) => {
		const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
		let out = "";
		child.stdout.on("data", (chunk) => {
			out += chunk;
		});
		child.stderr.on("data", (chunk) => {
			out += chunk;
		});
		child.once("error", reject);
		child.once("exit", (code) => {
			const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
			const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
			const p50 = latencyMs(/\s50%\s+([\d.]+)(us|ms|s)/.exec(out));
			const p99 = latencyMs(/\s99%\s+([\d.]+)(us|ms|s)/.exec(out));
			const non2xx = Number(
				/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0,
			);
			const errors = /Socket errors:.*/.exec(out)?.[0];
			if (code !== 0 || !Number.isFinite(rps) || rps === 0)
				reject(new Error(`wrk ${args.join(" ")} failed (${code}): ${out}`));
			else resolve({ rps, requests, p50, p99, non2xx, errors });
		});
	});
}

function latencyMs(match) {
	if (!match) return Number.NaN;
	const scale = { us: 1e-3, ms: 1, s: 1e3 }[match[2]];
	return Number(match[1]) * scale;
}
