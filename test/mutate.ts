/**
 * `npm run mutate [folder…]`: mutation testing with StrykerJS, one run per
 * folder of src/, each against only that folder's tests under test/. The
 * shared settings are in stryker.config.json; reports go to
 * reports/mutation/<folder>.html and .json.
 *
 * Runs are incremental: a rerun tests only the mutants whose code or
 * covering tests changed since the last run of that folder (delete
 * reports/mutation/<folder>-incremental.json for a full run).
 */
import { Stryker } from "@stryker-mutator/core";

type PartialStrykerOptions = ConstructorParameters<typeof Stryker>[0];

import { findRunId, removeRunCache } from "./helpers/test-run-cache.ts";

/**
 * The folders of src/ that can be run, fastest first, each with the files
 * it mutates and the tests it runs. Each test file runs in its own process
 * for every mutant it covers, so only tests that need no PostgreSQL server
 * are taken: a file that starts one takes 40 s to over 2 min a run here.
 */
interface FolderRun {
	readonly mutate: readonly string[];
	readonly tests: readonly string[];
}

const FOLDERS = {
	config: {
		mutate: ["src/config/**/*.ts"],
		tests: ["test/config/**/*.test.ts"],
	},
	// main.test.ts drives main() in-process, through io.ts. signals.ts is
	// tested in child processes, which the tap runner does not see: its
	// mutants are reported as not covered.
	cli: {
		mutate: ["src/cli/**/*.ts"],
		tests: ["test/cli/**/*.test.ts", "test/main.test.ts"],
	},
	// import-users.ts writes to the database: only PostgreSQL tests cover it.
	seed: {
		mutate: ["src/seed/**/*.ts", "!src/seed/import-users.ts"],
		tests: ["test/seed/**/*.test.ts"],
	},
	http: {
		mutate: ["src/http/parser-errors.ts", "src/http/observe.ts"],
		tests: ["test/http/parser-errors.test.ts", "test/http/observe.test.ts"],
	},
	db: {
		mutate: [
			"src/db/replica-lag.ts",
			"src/db/data-dir-lock.ts",
			"src/db/file-lock.ts",
		],
		tests: ["test/db/replica-lag.test.ts", "test/db/data-dir-lock.test.ts"],
	},
} as const satisfies Record<string, FolderRun>;
type Folder = keyof typeof FOLDERS;

/** The statuses that count, and the score Stryker gives them. */
interface FolderScore {
	folder: Folder;
	killed: number;
	survived: number;
	noCoverage: number;
	timeout: number;
	errors: number;
	seconds: number;
}

function parseFolders(args: readonly string[]): Folder[] {
	if (args.length === 0) return Object.keys(FOLDERS) as Folder[];
	const unknown = args.filter((arg) => !Object.hasOwn(FOLDERS, arg));
	if (unknown.length > 0) {
		console.error(
			`npm run mutate: unknown folder ${unknown.join(", ")}; choose from ${Object.keys(FOLDERS).join(", ")}`,
		);
		process.exit(2);
	}
	return args as Folder[];
}

function optionsFor(folder: Folder): PartialStrykerOptions {
	const run: FolderRun = FOLDERS[folder];
	return {
		mutate: [...run.mutate],
		tap: { testFiles: [...run.tests] },
		htmlReporter: { fileName: `reports/mutation/${folder}.html` },
		jsonReporter: { fileName: `reports/mutation/${folder}.json` },
		incrementalFile: `reports/mutation/${folder}-incremental.json`,
	};
}

async function mutateFolder(folder: Folder): Promise<FolderScore> {
	const started = performance.now();
	const results = await new Stryker(optionsFor(folder)).runMutationTest();
	const count = (...statuses: string[]) =>
		results.filter((result) => statuses.includes(result.status)).length;
	return {
		folder,
		killed: count("Killed"),
		survived: count("Survived"),
		noCoverage: count("NoCoverage"),
		timeout: count("Timeout"),
		errors: count("RuntimeError", "CompileError"),
		seconds: Math.round((performance.now() - started) / 1000),
	};
}

function formatScore(score: FolderScore): string {
	const detected = score.killed + score.timeout;
	const valid = detected + score.survived + score.noCoverage;
	const percent =
		valid === 0 ? "n/a" : `${((100 * detected) / valid).toFixed(1)} %`;
	return [
		`src/${score.folder}`,
		percent,
		`killed ${score.killed}`,
		`survived ${score.survived}`,
		`no coverage ${score.noCoverage}`,
		`timeout ${score.timeout}`,
		`errors ${score.errors}`,
		`${score.seconds} s`,
	].join(" | ");
}

// The database tests share one cache of template data directories across
// every test file Stryker starts, as they do under one tap run.
const runId = findRunId();
// Stryker runs each test file with plain node, where tap's time limit is its
// default 30 s, not package.json's.
process.env.TAP_TIMEOUT ??= "300";
const scores: FolderScore[] = [];
try {
	for (const folder of parseFolders(process.argv.slice(2)))
		scores.push(await mutateFolder(folder));
} finally {
	await removeRunCache(runId);
}
for (const score of scores) console.log(formatScore(score));
