import { createHash } from "node:crypto";
import {
	mkdir,
	mkdtemp,
	rename,
	rm,
	symlink,
	writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import t, { type Test } from "tap";
import type { ApiToken } from "../../src/auth/token-file.ts";
import {
	type TokenWatcher,
	watchTokenFile,
} from "../../src/auth/token-watcher.ts";
import { ConfigError } from "../../src/exit-codes.ts";
import { createLogger } from "../../src/logger.ts";
import { logLines } from "../helpers/log-lines.ts";

const sha256 = (text: string): string =>
	createHash("sha256").update(text).digest("hex");
const names = (tokens: readonly ApiToken[]): string[] =>
	tokens.map((token) => token.name);

/**
 * A directory laid out as the kubelet lays out a Secret volume: the file is a
 * symlink through `..data`, itself a symlink to a timestamped directory, and
 * an update swaps `..data` with a rename (atomic_writer.go).
 */
async function secretVolume(t: Pick<Test, "teardown">) {
	const root = await mkdtemp(join(tmpdir(), "sherpany-tokens-"));
	t.teardown(() => rm(root, { recursive: true, force: true }));
	let version = 0;
	let current: string | undefined;
	const publish = async (content: string): Promise<void> => {
		version += 1;
		const next = `..2026_12_07_04_00_0${version}.000000000`;
		await mkdir(join(root, next));
		await writeFile(join(root, next, "tokens"), content);
		await symlink(next, join(root, "..data_tmp"));
		await rename(join(root, "..data_tmp"), join(root, "..data"));
		if (current) await rm(join(root, current), { recursive: true });
		current = next;
	};
	return { root, file: join(root, "tokens"), publish };
}

/** Waits until `predicate` holds, up to `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs = 10_000) {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) throw new Error("timed out waiting");
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

function start(
	t: Pick<Test, "teardown">,
	file: string,
	checkIntervalMs: number,
	settleMs?: number,
) {
	const log = logLines();
	const watcher: TokenWatcher = watchTokenFile({
		config: { file, origin: "API_TOKENS_FILE" },
		logger: createLogger("info", log.destination),
		checkIntervalMs,
		...(settleMs === undefined ? {} : { settleMs }),
	});
	t.teardown(() => watcher.close());
	return { watcher, lines: log.lines };
}

t.test(
	"a Secret volume's symlink swap adds and removes tokens, without a restart",
	async (t) => {
		const volume = await secretVolume(t);
		await volume.publish(`${sha256("a")} alice\n${sha256("b")} bob\n`);
		await symlink("..data/tokens", volume.file);
		// An interval far past the test: the directory watch alone must notice.
		const { watcher, lines } = start(t, volume.file, 600_000);
		t.same(names(watcher.tokens()), ["alice", "bob"]);

		const started = Date.now();
		await volume.publish(`${sha256("b")} bob\n${sha256("c")} carol\n`);
		await until(() => names(watcher.tokens()).includes("carol"));
		t.same(
			names(watcher.tokens()),
			["bob", "carol"],
			"alice removed, carol added",
		);
		t.ok(Date.now() - started < 5000, "within seconds");
		t.match(lines.at(-1), {
			level: "info",
			msg: "reloaded the API tokens: 2 accepted",
			tokens: ["bob", "carol"],
		});
		// Again: a watch that followed the first file's inode would now be on
		// a deleted file and miss every later update.
		for (const name of ["dave", "erin"]) {
			await volume.publish(`${sha256(name)} ${name}\n`);
			await until(() => names(watcher.tokens())[0] === name);
			t.same(names(watcher.tokens()), [name], `then only ${name}`);
		}
	},
);

t.test("the interval check catches what no watch event reports", async (t) => {
	const volume = await secretVolume(t);
	await volume.publish(`${sha256("a")} alice\n`);
	await symlink("..data/tokens", volume.file);
	const { watcher } = start(t, volume.file, 200);
	await volume.publish(`${sha256("b")} bob\n`);
	await until(() => names(watcher.tokens())[0] === "bob");
	t.pass("reloaded");
});

t.test(
	"a file that turns bad keeps the last good tokens and logs one error",
	async (t) => {
		const root = await mkdtemp(join(tmpdir(), "sherpany-tokens-"));
		t.teardown(() => rm(root, { recursive: true, force: true }));
		const file = join(root, "tokens");
		const secret = "the-raw-token-pasted-by-mistake";
		await writeFile(file, `${sha256("a")} alice\r\n`);
		const { watcher, lines } = start(t, file, 100);
		await writeFile(file, `${sha256("a")} alice\n${secret}\n`);
		await until(() => lines.some((line) => line.level === "error"));
		t.same(names(watcher.tokens()), ["alice"], "still the last good set");
		const error = lines.find((line) => line.level === "error");
		t.match(
			error?.msg,
			/^API_TOKENS_FILE: .*tokens, line 2: the first field is not a hexadecimal SHA-256 hash; .*; still accepting the 1 tokens read before$/,
		);
		t.notMatch(
			JSON.stringify(lines),
			secret,
			"the bad line's text is not logged",
		);
		// Several more checks of the same bad file: no second error.
		await new Promise((resolve) => setTimeout(resolve, 500));
		t.equal(
			lines.filter((line) => line.level === "error").length,
			1,
			"logged once",
		);

		await writeFile(file, "");
		await until(
			() => lines.filter((line) => line.level === "error").length === 2,
		);
		t.match(
			lines.at(-1)?.msg,
			/holds no token hash/,
			"an emptied file is refused too",
		);
		await rm(file);
		await until(
			() => lines.filter((line) => line.level === "error").length === 3,
		);
		t.match(lines.at(-1)?.msg, /cannot read it \(ENOENT\)/);
		t.same(names(watcher.tokens()), ["alice"]);

		await writeFile(file, `${sha256("b")} bob\n`);
		await until(() => names(watcher.tokens())[0] === "bob");
		t.pass("a good file is read again");
	},
);

t.test(
	"a bad file at start-up is a ConfigError naming file and line",
	async (t) => {
		const root = await mkdtemp(join(tmpdir(), "sherpany-tokens-"));
		t.teardown(() => rm(root, { recursive: true, force: true }));
		const file = join(root, "tokens");
		await writeFile(file, `# header\n${sha256("a").slice(2)} short\n`);
		const config = { file, origin: "API_TOKENS_FILE" };
		const logger = pino({ level: "silent" });
		t.throws(() => watchTokenFile({ config, logger }), {
			constructor: ConfigError,
			message: `API_TOKENS_FILE: ${file}, line 2: the hash has 62 hex digits, a SHA-256 hash has 64; each line is '<hex sha256 of the token> [name]' (make one with: printf %s "$token" | sha256sum)`,
		});
		t.throws(
			() =>
				watchTokenFile({
					config: { ...config, file: join(root, "absent") },
					logger,
				}),
			{
				message: `API_TOKENS_FILE: ${join(root, "absent")}: cannot read it (ENOENT)`,
			},
		);
	},
);

t.test(
	"a file caught mid-write is looked at again before it is called bad",
	async (t) => {
		const root = await mkdtemp(join(tmpdir(), "sherpany-tokens-"));
		t.teardown(() => rm(root, { recursive: true, force: true }));
		const file = join(root, "tokens");
		await writeFile(file, `${sha256("a")} alice\n`);
		// Checked every 10 ms, so the empty file below is surely seen; read
		// again 2 s after a failure, which even a loaded machine's 40 ms
		// sleep stays within.
		const { watcher, lines } = start(t, file, 10, 2000);
		await writeFile(file, "");
		await new Promise((resolve) => setTimeout(resolve, 40));
		await writeFile(file, `${sha256("b")} bob\n`);
		await until(() => names(watcher.tokens())[0] === "bob");
		t.same(
			lines.filter((line) => line.level === "error"),
			[],
			"no error for the moment the file was empty",
		);
	},
);

t.test("a token file over 1 MiB is refused at start-up", async (t) => {
	const root = await mkdtemp(join(tmpdir(), "sherpany-tokens-"));
	t.teardown(() => rm(root, { recursive: true, force: true }));
	const file = join(root, "tokens");
	await writeFile(file, `${sha256("a")} alice\n`.repeat(16_000));
	t.throws(
		() =>
			watchTokenFile({
				config: { file, origin: "API_TOKENS_FILE" },
				logger: pino({ level: "silent" }),
			}),
		{
			constructor: ConfigError,
			message: `API_TOKENS_FILE: ${file}: cannot read it (larger than 1 MiB: is it the right file?)`,
		},
	);
});
