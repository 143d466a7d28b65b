/**
 * What every route that deploys the cloudnativepg component must render
 * besides it: the Secret `sherpany-db-serve` of the read-only role `serve`
 * connects as. The operator sets the role's password from it
 * (spec.managed.roles) but never makes it, so a route that leaves it out
 * leaves the first install waiting for a hand-made Secret.
 *
 * @module
 */
import type { Test } from "tap";
import type { KubeObject } from "./kustomize.ts";

const SERVE_SECRET = "sherpany-db-serve";

interface SecretObject extends KubeObject {
	readonly type?: string;
	readonly data?: Record<string, string>;
}

/** Checks the one Secret sherpany-db-serve: its shape, namespace and the password given. */
export function checkServeSecret(
	t: Test,
	objects: readonly KubeObject[],
	expected: { namespace: string; password: string },
): void {
	const secrets = objects.filter(
		(o) => o.kind === "Secret" && o.metadata.name === SERVE_SECRET,
	) as SecretObject[];
	t.equal(secrets.length, 1, `one Secret ${SERVE_SECRET}, unsuffixed`);
	const [secret] = secrets;
	if (!secret) return;
	t.equal(secret.metadata.namespace, expected.namespace, "in the namespace");
	t.equal(secret.type, "kubernetes.io/basic-auth", "of the type CNPG reads");
	const decoded = Object.fromEntries(
		Object.entries(secret.data ?? {}).map(([key, value]) => [
			key,
			Buffer.from(value, "base64").toString(),
		]),
	);
	t.same(
		decoded,
		{ username: "sherpany_serve", password: expected.password },
		"username sherpany_serve and the password given, byte for byte",
	);
	t.equal(
		secret.metadata.labels?.["cnpg.io/reload"],
		"true",
		"labelled so that the operator picks up a new password",
	);
}

/** The objects without the Secret sherpany-db-serve. */
export function withoutServeSecret(
	objects: readonly KubeObject[],
): KubeObject[] {
	return objects.filter(
		(o) => !(o.kind === "Secret" && o.metadata.name === SERVE_SECRET),
	);
}
