/**
 * The pure parts of running a manifest's container like the kubelet:
 * quantities, and the environment's precedence (envFrom in order, then env;
 * prefixes; ConfigMap and Secret key references).
 */
import t from "tap";
import { parseQuantity, resolveEnv } from "../helpers/kube-container.ts";
import type { KubeObject } from "../helpers/kustomize.ts";

t.test("parseQuantity", async (t) => {
	t.equal(parseQuantity("448Mi"), 448 * 2 ** 20);
	t.equal(parseQuantity("1Gi"), 2 ** 30);
	t.equal(parseQuantity("300M"), 300e6);
	t.equal(parseQuantity("250m"), 0.25);
	t.equal(parseQuantity("1"), 1);
	t.equal(parseQuantity("1.5"), 1.5);
	t.throws(() => parseQuantity("1 Gi"), /unsupported quantity/);
	t.throws(() => parseQuantity("lots"), /unsupported quantity/);
});

const configMap = (name: string, data: Record<string, string>): KubeObject => ({
	apiVersion: "v1",
	kind: "ConfigMap",
	metadata: { name },
	data,
});

t.test("resolveEnv follows Kubernetes' precedence", async (t) => {
	const objects = [
		configMap("first", { A: "from first", B: "from first" }),
		configMap("second", { B: "from second", C: "from second" }),
	];
	const secrets = { creds: { password: "s3cret", token: "t" } };
	const env = resolveEnv(
		{
			name: "c",
			envFrom: [
				{ configMapRef: { name: "first" } },
				{ configMapRef: { name: "second" } },
				{ secretRef: { name: "creds" }, prefix: "DB_" },
			],
			env: [
				{ name: "C", value: "from env" },
				{
					name: "FROM_MAP",
					valueFrom: { configMapKeyRef: { name: "first", key: "A" } },
				},
				{
					name: "FROM_SECRET",
					valueFrom: { secretKeyRef: { name: "creds", key: "token" } },
				},
			],
		},
		objects,
		{ secrets },
	);
	t.same(env, {
		A: "from first",
		B: "from second",
		C: "from env",
		DB_password: "s3cret",
		DB_token: "t",
		FROM_MAP: "from first",
		FROM_SECRET: "t",
	});
});

t.test("resolveEnv fails on what it cannot resolve", async (t) => {
	const objects = [configMap("first", { A: "a" })];
	t.throws(
		() =>
			resolveEnv(
				{ name: "c", envFrom: [{ configMapRef: { name: "missing" } }] },
				objects,
				{ secrets: {} },
			),
		/ConfigMap missing is not in the rendered objects/,
	);
	t.throws(
		() =>
			resolveEnv(
				{ name: "c", envFrom: [{ secretRef: { name: "creds" } }] },
				objects,
				{ secrets: {} },
			),
		/the test supplies no Secret creds/,
	);
	t.throws(
		() =>
			resolveEnv(
				{
					name: "c",
					env: [
						{
							name: "X",
							valueFrom: { configMapKeyRef: { name: "first", key: "B" } },
						},
					],
				},
				objects,
				{ secrets: {} },
			),
		/ConfigMap first has no key B/,
	);
	t.throws(
		() =>
			resolveEnv(
				{
					name: "c",
					env: [
						{
							name: "POD",
							valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
						},
					],
				},
				objects,
				{ secrets: {} },
			),
		/only value, configMapKeyRef and secretKeyRef/,
	);
});
