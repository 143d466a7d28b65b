/**
 * The built `dist/sherpany` against a real PostgreSQL
 * (test/suites/binary-postgres.ts, which the arm64 executable passes too).
 */
import t from "tap";
import { NATIVE_TARGET, requireFreshBinary } from "../helpers/binary.ts";
import { binaryPostgresSuite } from "../suites/binary-postgres.ts";

await requireFreshBinary();

t.test("against PostgreSQL", (t) => binaryPostgresSuite(t, NATIVE_TARGET));
