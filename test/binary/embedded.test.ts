/**
 * The built `dist/sherpany` on the embedded default database
 * (test/suites/binary-embedded.ts, which the arm64 executable passes too).
 */
import t from "tap";
import { NATIVE_TARGET, requireFreshBinary } from "../helpers/binary.ts";
import { binaryEmbeddedSuite } from "../suites/binary-embedded.ts";

await requireFreshBinary();

t.test("on the embedded default database", (t) =>
	binaryEmbeddedSuite(t, NATIVE_TARGET),
);
