import t from "tap";
import { createLogger } from "../src/logger.ts";
import { prettyDestination } from "../src/pretty-log.ts";

/** A logger whose readable lines are collected, with the time shown. */
function prettyLines() {
	const lines: string[] = [];
	const logger = createLogger(
		"debug",
		prettyDestination({ write: (line: string) => void lines.push(line) }),
	);
	return { logger, lines };
}

const TIME = String.raw`\[\d{2}:\d{2}:\d{2}\.\d{3}\]`;

t.test(
	"the request line: method, path, status and duration in its message",
	async (t) => {
		const { logger, lines } = prettyLines();
		logger.info(
			{
				requestId: "r-1",
				method: "GET",
				route: "/users",
				path: "/users",
				status: 200,
				durationMs: 1.25,
				tokenName: "ci",
			},
			"request",
		);
		t.match(lines, [
			new RegExp(
				`^${TIME} INFO: request GET /users 200 1\\.25 ms \\{"requestId":"r-1","tokenName":"ci"\\}\\n$`,
			),
		]);
	},
);

t.test(
	"other lines: message, then their fields on the same line",
	async (t) => {
		const { logger, lines } = prettyLines();
		logger.warn(
			{ replica: "lagging", lagSeconds: 12 },
			"reads go to the primary",
		);
		logger.debug("quiet");
		t.match(lines, [
			new RegExp(
				`^${TIME} WARN: reads go to the primary \\{"replica":"lagging","lagSeconds":12\\}\\n$`,
			),
			new RegExp(`^${TIME} DEBUG: quiet\\n$`),
		]);
		t.notMatch(
			lines.join(""),
			/pid|hostname|sherpany|version/,
			"no fields a person does not need",
		);
	},
);

t.test("an error's stack stays readable", async (t) => {
	const { logger, lines } = prettyLines();
	logger.error({ err: new Error("boom") }, "unexpected error");
	t.match(lines[0], new RegExp(`^${TIME} ERROR: unexpected error ?\\n`));
	t.match(lines[0], /"message": "boom"/);
	t.match(lines[0], /\n\s+at /, "the stack, a frame a line");
});
