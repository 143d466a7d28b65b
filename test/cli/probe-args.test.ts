import { Command } from "commander";
import t from "tap";
import { addOptions, CHECK_HEALTH_OPTIONS } from "../../src/cli/options.ts";
import { readProbeArgs } from "../../src/cli/probe-args.ts";

/** What commander makes of the same arguments, with the same option specs. */
function commanderFlags(argv: string[]): Record<string, unknown> {
	let flags: Record<string, unknown> = {};
	const program = new Command("sherpany").exitOverride();
	addOptions(program.command("check-health"), CHECK_HEALTH_OPTIONS).action(
		(options: Record<string, unknown>) => {
			flags = options;
		},
	);
	program.parse(argv, { from: "user" });
	return flags;
}

t.test("a probe's plain forms read as commander reads them", async (t) => {
	const forms: string[][] = [
		["check-health"],
		["check-health", "--ready"],
		["check-health", "--port", "8080"],
		["check-health", "--ready", "--port", "9090", "--timeout-ms", "500"],
		["check-health", "--timeout-ms", "500", "--ready"],
		["check-health", "--url", "http://10.0.0.5:8080/health"],
	];
	for (const argv of forms) {
		const flags = readProbeArgs(argv);
		t.ok(flags, `read without commander: ${argv.join(" ")}`);
		t.same(flags, commanderFlags(argv), argv.join(" "));
	}
});

t.test("everything else is left to commander", async (t) => {
	const forms: string[][] = [
		["serve"],
		[],
		["check-health", "--help"],
		["check-health", "-h"],
		["check-health", "--port=8080"],
		["check-health", "--port"],
		["check-health", "--port", "--ready"],
		["check-health", "--port", "1", "--port", "2"],
		["check-health", "--ready", "--ready"],
		["check-health", "--bogus"],
		["check-health", "extra"],
		["check-health", "--toString", "x"],
		["check-health", "--", "--ready"],
	];
	for (const argv of forms)
		t.equal(readProbeArgs(argv), undefined, argv.join(" ") || "(nothing)");
});
