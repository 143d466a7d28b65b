/**
 * Keeps the accepted API tokens in step with their file, with no restart. A
 * Kubernetes Secret volume updates by swapping a `..data` symlink in the
 * mount's directory, which a watch on the file itself never sees; so the
 * directory is watched (to notice at once) and the file is also checked with
 * `stat` every interval (for the file systems and runtimes where watching
 * says nothing). Only a file whose identity, size or times changed is read
 * again. A file that turns bad keeps the last good tokens and logs an error
 * once; a file that is bad at start-up is a ConfigError (exit code 2).
 */
import { type FSWatcher, type Stats, statSync, watch } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { ApiTokensConfig } from "../config/api-tokens.ts";
import { readFileUtf8 } from "../config/values.ts";
import { errorReason } from "../error-code.ts";
import { ConfigError } from "../exit-codes.ts";
import { type ApiToken, parseTokenFile } from "./token-file.ts";

/** How often the file is checked besides the directory watch. */
const DEFAULT_TOKEN_CHECK_INTERVAL_MS = 1000;
/**
 * A change is read this long after the first event about it: an editor's
 * save or the kubelet's swap is several events, and reading between them
 * could see a half-written file. A read that fails is tried again after as
 * long before it is reported.
 */
const DEFAULT_TOKEN_SETTLE_MS = 100;

export interface TokenWatcherOptions {
	readonly config: ApiTokensConfig;
	readonly logger: Logger;
	readonly checkIntervalMs?: number;
	/** How long after a change, or a read that failed, the file is read (again). */
	readonly settleMs?: number;
}

/** The tokens accepted now, and a way to stop watching. */
export interface TokenWatcher {
	tokens(): readonly ApiToken[];
	close(): Promise<void>;
}

/** Reads and parses the file; a file that cannot be read or parsed is a ConfigError. */
function readTokenFile(config: ApiTokensConfig): ApiToken[] {
	const source = `${config.origin}: ${config.file}`;
	let text: string;
	try {
		// Bounded, as every configuration file is: /dev/zero would never end.
		text = readFileUtf8(config.file);
	} catch (error) {
		throw new ConfigError(`${source}: cannot read it (${errorReason(error)})`, {
			cause: error,
		});
	}
	return parseTokenFile(text, source);
}

/** Loads the tokens (throwing a ConfigError if the file is bad) and follows the file's changes. */
export function watchTokenFile(options: TokenWatcherOptions): TokenWatcher {
	const { config, logger } = options;
	const settleMs = options.settleMs ?? DEFAULT_TOKEN_SETTLE_MS;
	let current = readTokenFile(config);
	let identity = identify(config.file);
	let lastProblem: string | undefined;
	let confirming: NodeJS.Timeout | undefined;
	const reload = (final: boolean): void => {
		try {
			current = readTokenFile(config);
			lastProblem = undefined;
			logger.info(
				{ file: config.file, tokens: current.map((token) => token.name) },
				`reloaded the API tokens: ${current.length} accepted`,
			);
		} catch (error) {
			// A writer that truncates and then writes can be caught between
			// the two: look again once it has had time to finish.
			if (!final) {
				confirming = setTimeout(() => {
					identity = identify(config.file);
					reload(true);
				}, settleMs);
				confirming.unref();
				return;
			}
			const problem = error instanceof Error ? error.message : String(error);
			if (problem === lastProblem) return;
			lastProblem = problem;
			logger.error(
				{ file: config.file },
				`${problem}; still accepting the ${current.length} tokens read before`,
			);
		}
	};
	const check = (): void => {
		const now = identify(config.file);
		if (now === identity) return;
		identity = now;
		clearTimeout(confirming);
		reload(false);
	};
	const timer = setInterval(
		check,
		options.checkIntervalMs ?? DEFAULT_TOKEN_CHECK_INTERVAL_MS,
	);
	timer.unref();
	const watcher = watchDirectory(dirname(config.file), check, {
		logger,
		settleMs,
	});
	return {
		tokens: () => current,
		async close() {
			clearInterval(timer);
			clearTimeout(confirming);
			watcher.close();
		},
	};
}

/** What changes when the file is replaced or rewritten; "missing" when it cannot be stat'ed. */
function identify(file: string): string {
	let stats: Stats;
	try {
		stats = statSync(file);
	} catch {
		return "missing";
	}
	return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/** Calls `onChange` shortly after anything in `directory` changes, for as long as it can watch. */
function watchDirectory(
	directory: string,
	onChange: () => void,
	{ logger, settleMs }: { logger: Logger; settleMs: number },
): { close(): void } {
	let pending: NodeJS.Timeout | undefined;
	const settle = (): void => {
		pending ??= setTimeout(() => {
			pending = undefined;
			onChange();
		}, settleMs);
		pending.unref();
	};
	const watcher = startWatching(directory, settle, logger);
	return {
		close() {
			clearTimeout(pending);
			watcher?.close();
		},
	};
}

/** An `fs.watch` of `directory`, or undefined where there can be none. */
function startWatching(
	directory: string,
	onEvent: () => void,
	logger: Logger,
): FSWatcher | undefined {
	try {
		const watcher = watch(directory, { persistent: false }, onEvent);
		watcher.on("error", (error) => {
			logger.warn(
				{ directory, reason: errorReason(error) },
				"stopped watching the API tokens' directory: checking the file every interval only",
			);
			watcher.close();
		});
		return watcher;
	} catch (error) {
		// Too many watches already (ENOSPC), or a runtime without them: the
		// interval check still notices every change, only later.
		logger.warn(
			{ directory, reason: errorReason(error) },
			"cannot watch the API tokens' directory: checking the file every interval only",
		);
		return undefined;
	}
}
