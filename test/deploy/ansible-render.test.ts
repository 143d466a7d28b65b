/**
 * The playbook's `render` tag, run for real on localhost with no cluster and
 * no kubeconfig, renders exactly what `kubectl kustomize` renders from a
 * kustomization this test writes on its own for the same choice. So Ansible
 * deploys deploy/kubernetes itself, never a copy that could drift.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import t, { type Test } from "tap";
import {
	ansibleOrSkip,
	type Rendered,
	renderWithAnsible,
} from "../helpers/ansible.ts";
import {
	findObject,
	KUBERNETES_DIR,
	type KubeObject,
	kustomize,
} from "../helpers/kustomize.ts";
import { checkServeSecret } from "../helpers/serve-secret.ts";

/** A PEM-shaped bundle: the role checks the shape, kustomize copies the bytes. */
const CA_BUNDLE =
	"-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const MONITORING = existsSync(join(KUBERNETES_DIR, "components", "monitoring"));

/** One choice of variables and the kustomization that says the same. */
interface Choice {
	readonly label: string;
	readonly vars: Record<string, unknown>;
	readonly kustomization: Record<string, unknown>;
	/** Extra files of the expected kustomization's directory. */
	readonly files?: Record<string, string>;
	/** What must be in the output, beyond equality, so an empty render can't pass. */
	readonly check: (t: Test, objects: KubeObject[]) => void;
}

const SECRET_LABELS = {
	"app.kubernetes.io/name": "sherpany",
	"app.kubernetes.io/instance": "sherpany",
	"app.kubernetes.io/part-of": "sherpany",
	"app.kubernetes.io/managed-by": "kustomize",
	"app.kubernetes.io/component": "database",
};

/** The in-cluster database's vaulted passwords, one per role, with characters YAML and shells care about. */
const VAULTED = {
	"migrate-password": "m1grate=with#odd'chars",
	"serve-password": 's3rve "quoted" & spaced',
	"superuser-password": "superuser:password\\n",
};

/** CloudNativePG's read-only role's vaulted password. */
const SERVE_PASSWORD = `s3rve=cnpg "quoted" #odd'chars`;
/** A token file with two hashes, a comment and Windows line endings. */
const TOKEN_HASHES = `# who may read /users\r\n${"0a".repeat(32)} ops\r\n${"b1".repeat(32)}\r\n`;

const choices: Choice[] = [
	{
		label:
			"defaults: in-cluster PostgreSQL, one password per role from the vault, seed Job",
		vars: { sherpany_database_secret: VAULTED },
		kustomization: {
			namespace: "sherpany",
			resources: ["base"],
			components: ["postgres", "seed-job"],
			images: [image("ghcr.io/sherpany/sherpany", "0.1.0")],
			secretGenerator: [
				{
					name: "sherpany-database",
					options: { labels: SECRET_LABELS },
					literals: Object.entries(VAULTED).map(
						([key, value]) => `${key}=${value}`,
					),
				},
			],
			patches: [replicas(2, 6)],
		},
		check: (t, objects) => {
			findObject(objects, "StatefulSet", "sherpany-postgres");
			findObject(objects, "CronJob", "sherpany-seed");
			const secret = objects.find((o) => o.kind === "Secret") as
				| { data?: Record<string, string> }
				| undefined;
			t.same(
				Object.fromEntries(
					Object.entries(secret?.data ?? {}).map(([key, value]) => [
						key,
						Buffer.from(value, "base64").toString(),
					]),
				),
				VAULTED,
				"the vaulted passwords arrive byte for byte, under the keys the postgres component reads",
			);
		},
	},
	{
		label:
			"cloudnativepg, its operator's secret and the read-only role's from the vault, ingress, API tokens from an existing Secret, digests, 3 to 9 replicas, no seed Job",
		vars: {
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: { "serve-password": SERVE_PASSWORD },
			sherpany_database_image: `ghcr.io/cloudnative-pg/postgresql:17.6@${DIGEST}`,
			sherpany_image: "registry.example.com/sherpany",
			sherpany_image_tag: "1.2.3",
			sherpany_image_digest: DIGEST,
			sherpany_replicas_min: 3,
			sherpany_replicas_max: 9,
			sherpany_ingress: true,
			sherpany_ingress_host: "users.example.org",
			sherpany_ingress_class: "traefik",
			sherpany_ingress_tls_secret: "users-tls",
			sherpany_seed_job: false,
			sherpany_api_auth: "existing",
		},
		kustomization: {
			namespace: "sherpany",
			resources: ["base"],
			components: ["cloudnativepg", "ingress", "api-tokens"],
			secretGenerator: [
				{
					name: "sherpany-db-serve",
					type: "kubernetes.io/basic-auth",
					options: {
						disableNameSuffixHash: true,
						labels: { ...SECRET_LABELS, "cnpg.io/reload": "true" },
					},
					literals: ["username=sherpany_serve", `password=${SERVE_PASSWORD}`],
				},
			],
			images: [
				{
					...image("registry.example.com/sherpany", "1.2.3"),
					digest: DIGEST,
				},
			],
			patches: [
				replicas(3, 9),
				jsonPatch("Cluster", "sherpany-db", [
					[
						"/spec/imageName",
						`ghcr.io/cloudnative-pg/postgresql:17.6@${DIGEST}`,
					],
				]),
				jsonPatch("Ingress", "sherpany", [
					["/spec/ingressClassName", "traefik"],
					["/spec/rules/0/host", "users.example.org"],
					["/spec/tls/0/hosts/0", "users.example.org"],
					["/spec/tls/0/secretName", "users-tls"],
				]),
			],
		},
		check: (t, objects) => {
			findObject(objects, "Cluster", "sherpany-db");
			t.notOk(
				objects.some((o) => o.kind === "CronJob"),
				"no seed Job",
			);
			t.same(
				objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name),
				["sherpany-db-serve"],
				"one Secret, the read-only role's: the operator makes the owner's",
			);
			checkServeSecret(t, objects, {
				namespace: "sherpany",
				password: SERVE_PASSWORD,
			});
			t.match(
				JSON.stringify(findObject(objects, "Deployment", "sherpany")),
				`registry.example.com/sherpany:1.2.3@${DIGEST}`,
				"the image is pinned by digest",
			);
		},
	},
	{
		label: `external database with a CA bundle, ExternalSecret, API token hashes, namespace shop, LOG_LEVEL${MONITORING ? ", monitoring" : ""}`,
		vars: {
			sherpany_namespace: "shop",
			sherpany_database: "external",
			sherpany_database_ca_bundle: CA_BUNDLE,
			sherpany_credentials: "external-secret",
			sherpany_external_secret_store_kind: "SecretStore",
			sherpany_external_secret_store: "vault-backend",
			sherpany_external_secret_key: "prod/sherpany/db",
			sherpany_monitoring: MONITORING,
			sherpany_config: { LOG_LEVEL: "warn", PG_POOL_MAX: 20 },
			sherpany_api_auth: "secret",
			sherpany_api_token_hashes: TOKEN_HASHES,
		},
		kustomization: {
			namespace: "shop",
			resources: ["base"],
			components: [
				"external-db",
				"external-secret",
				...(MONITORING ? ["monitoring"] : []),
				"api-tokens",
				"seed-job",
				"./ca-bundle",
			],
			secretGenerator: [
				{
					name: "sherpany-api-tokens",
					options: {
						disableNameSuffixHash: true,
						labels: {
							...SECRET_LABELS,
							"app.kubernetes.io/component": "api",
						},
					},
					literals: [`tokens=${TOKEN_HASHES}`],
				},
			],
			images: [image("ghcr.io/sherpany/sherpany", "0.1.0")],
			configMapGenerator: [
				{
					name: "sherpany",
					behavior: "merge",
					literals: ["LOG_LEVEL=warn", "PG_POOL_MAX=20"],
				},
			],
			patches: [
				replicas(2, 6),
				{
					target: { kind: "ExternalSecret", name: "sherpany-database" },
					patch: JSON.stringify([
						{
							op: "replace",
							path: "/spec/secretStoreRef",
							value: { kind: "SecretStore", name: "vault-backend" },
						},
						{
							op: "replace",
							path: "/spec/dataFrom/0/extract/key",
							value: "prod/sherpany/db",
						},
					]),
				},
			],
		},
		files: {
			// A kustomization's own generators run before its components, so
			// the placeholder is replaced from a component listed after it.
			"ca-bundle/kustomization.yaml": JSON.stringify({
				apiVersion: "kustomize.config.k8s.io/v1alpha1",
				kind: "Component",
				configMapGenerator: [
					{
						name: "sherpany-database-ca",
						namespace: "sherpany",
						behavior: "replace",
						files: ["ca.crt"],
					},
				],
			}),
			"ca-bundle/ca.crt": CA_BUNDLE,
		},
		check: (t, objects) => {
			t.ok(
				objects.every(
					(o) => o.kind === "Namespace" || o.metadata.namespace === "shop",
				),
				"every object is in namespace shop",
			);
			const ca = objects.find((o) =>
				o.metadata.name.startsWith("sherpany-database-ca-"),
			) as { data?: Record<string, string> } | undefined;
			t.equal(
				ca?.data?.["ca.crt"],
				CA_BUNDLE,
				"the CA bundle is the one given",
			);
			findObject(objects, "ExternalSecret", "sherpany-database");
			const tokens = findObject(objects, "Secret", "sherpany-api-tokens") as {
				data?: Record<string, string>;
			};
			t.equal(
				Buffer.from(tokens.data?.tokens ?? "", "base64").toString(),
				TOKEN_HASHES,
				"the token file arrives byte for byte, CRLF included",
			);
		},
	},
	{
		label:
			"an HTTPRoute to a Gateway elsewhere beside an Ingress with cert-manager's annotation, existing Secret",
		vars: {
			sherpany_database: "external",
			sherpany_database_ca_bundle: CA_BUNDLE,
			sherpany_credentials: "existing",
			sherpany_seed_job: false,
			sherpany_ingress: true,
			sherpany_ingress_host: "api.example.org",
			sherpany_ingress_annotations: {
				"cert-manager.io/cluster-issuer": "letsencrypt",
			},
			sherpany_gateway: true,
			sherpany_gateway_host: "api.example.org",
			sherpany_gateway_name: "public",
			sherpany_gateway_namespace: "infra",
			sherpany_gateway_section: "https-api",
		},
		kustomization: {
			namespace: "sherpany",
			resources: ["base"],
			components: ["external-db", "ingress", "gateway", "./ca-bundle"],
			images: [image("ghcr.io/sherpany/sherpany", "0.1.0")],
			patches: [
				replicas(2, 6),
				jsonPatch("Ingress", "sherpany", [
					["/spec/rules/0/host", "api.example.org"],
					["/spec/tls/0/hosts/0", "api.example.org"],
				]),
				// Merge patches, in this test's own terms.
				{
					target: { kind: "Ingress", name: "sherpany" },
					patch: JSON.stringify({
						apiVersion: "networking.k8s.io/v1",
						kind: "Ingress",
						metadata: {
							name: "sherpany",
							annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
						},
					}),
				},
				{
					target: { kind: "HTTPRoute", name: "sherpany" },
					patch: JSON.stringify({
						apiVersion: "gateway.networking.k8s.io/v1",
						kind: "HTTPRoute",
						metadata: { name: "sherpany" },
						spec: {
							hostnames: ["api.example.org"],
							parentRefs: [
								{
									group: "gateway.networking.k8s.io",
									kind: "Gateway",
									name: "public",
									namespace: "infra",
									sectionName: "https-api",
								},
							],
						},
					}),
				},
			],
		},
		files: {
			"ca-bundle/kustomization.yaml": JSON.stringify({
				apiVersion: "kustomize.config.k8s.io/v1alpha1",
				kind: "Component",
				configMapGenerator: [
					{
						name: "sherpany-database-ca",
						namespace: "sherpany",
						behavior: "replace",
						files: ["ca.crt"],
					},
				],
			}),
			"ca-bundle/ca.crt": CA_BUNDLE,
		},
		check: (t, objects) => {
			const route = findObject(objects, "HTTPRoute", "sherpany") as {
				spec?: { parentRefs?: Array<{ name: string }> };
			};
			t.equal(route.spec?.parentRefs?.[0]?.name, "public", "the Gateway named");
			t.same(
				findObject(objects, "Ingress", "sherpany").metadata.annotations,
				{ "cert-manager.io/cluster-issuer": "letsencrypt" },
				"the Ingress has the annotation",
			);
		},
	},
	{
		label: "in-cluster backups at another time, keeping 3 dumps",
		vars: {
			sherpany_database_secret: VAULTED,
			sherpany_seed_job: false,
			sherpany_backup: { schedule: "30 1 * * 0", keep: 3 },
		},
		kustomization: {
			namespace: "sherpany",
			resources: ["base"],
			components: ["postgres"],
			images: [image("ghcr.io/sherpany/sherpany", "0.1.0")],
			secretGenerator: [
				{
					name: "sherpany-database",
					options: { labels: SECRET_LABELS },
					literals: Object.entries(VAULTED).map(
						([key, value]) => `${key}=${value}`,
					),
				},
			],
			patches: [
				replicas(2, 6),
				{
					target: { kind: "CronJob", name: "sherpany-postgres-backup" },
					patch: JSON.stringify({
						apiVersion: "batch/v1",
						kind: "CronJob",
						metadata: { name: "sherpany-postgres-backup" },
						spec: {
							schedule: "30 1 * * 0",
							jobTemplate: {
								spec: {
									template: {
										spec: {
											containers: [
												{
													name: "backup",
													env: [
														{
															name: "BACKUP_DIR",
															value: "/var/lib/sherpany-backup",
														},
														{ name: "BACKUP_KEEP", value: "3" },
														{ name: "TMPDIR", value: "/tmp" },
													],
												},
											],
										},
									},
								},
							},
						},
					}),
				},
			],
		},
		check: (t, objects) => {
			t.match(
				findObject(objects, "CronJob", "sherpany-postgres-backup"),
				{ spec: { schedule: "30 1 * * 0" } },
				"the CronJob runs at the chosen time",
			);
		},
	},
	{
		label:
			"cloudnativepg backed up to S3-compatible storage, and recovered to a point in time",
		vars: {
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: { "serve-password": SERVE_PASSWORD },
			sherpany_seed_job: false,
			sherpany_backup: {
				schedule: "15 2 * * *",
				retention: "8w",
				destination_path: "s3://backups/sherpany",
				endpoint_url: "https://minio.example.org",
				server_name: "sherpany-db-2",
				recover_from: "sherpany-db",
				recovery_target_time: "2026-12-07T03:15:00Z",
			},
		},
		kustomization: {
			namespace: "sherpany",
			resources: ["base"],
			components: [
				"cloudnativepg",
				"cloudnativepg-backup",
				"cloudnativepg-recovery",
			],
			secretGenerator: [
				{
					name: "sherpany-db-serve",
					type: "kubernetes.io/basic-auth",
					options: {
						disableNameSuffixHash: true,
						labels: { ...SECRET_LABELS, "cnpg.io/reload": "true" },
					},
					literals: ["username=sherpany_serve", `password=${SERVE_PASSWORD}`],
				},
			],
			images: [image("ghcr.io/sherpany/sherpany", "0.1.0")],
			patches: [
				replicas(2, 6),
				jsonPatch("ObjectStore", "sherpany-backup", [
					["/spec/retentionPolicy", "8w"],
					[
						"/spec/configuration",
						{
							destinationPath: "s3://backups/sherpany",
							endpointURL: "https://minio.example.org",
							s3Credentials: {
								accessKeyId: {
									name: "sherpany-backup-s3",
									key: "ACCESS_KEY_ID",
								},
								secretAccessKey: {
									name: "sherpany-backup-s3",
									key: "ACCESS_SECRET_KEY",
								},
							},
							wal: { compression: "gzip" },
							data: { compression: "gzip" },
						},
					],
				]),
				jsonPatch("ScheduledBackup", "sherpany-db", [
					["/spec/schedule", "0 15 2 * * *"],
				]),
				jsonPatch("Cluster", "sherpany-db", [
					["/spec/plugins/0/parameters/serverName", "sherpany-db-2"],
					[
						"/spec/externalClusters/0/plugin/parameters/serverName",
						"sherpany-db",
					],
					[
						"/spec/bootstrap/recovery",
						{
							source: "sherpany-db-backup",
							database: "app",
							owner: "app",
							recoveryTarget: { targetTime: "2026-12-07T03:15:00Z" },
						},
					],
				]),
			],
		},
		check: (t, objects) => {
			t.match(
				findObject(objects, "Cluster", "sherpany-db"),
				{
					spec: {
						bootstrap: {
							recovery: {
								recoveryTarget: { targetTime: "2026-12-07T03:15:00Z" },
							},
						},
					},
				},
				"the Cluster recovers to the chosen time",
			);
		},
	},
];

if (await ansibleOrSkip(t)) {
	// All at once: each play spends most of its time starting processes.
	const renders = choices.map((choice) =>
		Promise.all([renderWithAnsible(choice.vars), renderExpected(choice)]),
	);
	// A failure is reported by its subtest, not as an unhandled rejection.
	for (const render of renders) render.catch(() => {});
	for (const [index, choice] of choices.entries())
		t.test(choice.label, async (t) => {
			const [rendered, expected] = await (renders[index] as Promise<
				[Rendered, KubeObject[]]
			>);
			checkChoice(t, choice, rendered.objects.localhost ?? [], expected);
		});
}

function checkChoice(
	t: Test,
	choice: Choice,
	rendered: readonly KubeObject[],
	expected: readonly KubeObject[],
): void {
	t.ok(rendered.length > 10, "the play rendered the objects");
	t.same(
		keysOf(rendered),
		keysOf(expected),
		"the same objects as kubectl kustomize",
	);
	for (const object of expected)
		t.same(
			rendered.find(
				(o) =>
					o.kind === object.kind && o.metadata.name === object.metadata.name,
			),
			object,
			`${object.kind}/${object.metadata.name} is identical`,
		);
	choice.check(t, [...rendered]);
}

/** `kubectl kustomize` of the choice's own kustomization, written in a temp dir. */
async function renderExpected(choice: Choice): Promise<KubeObject[]> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-expected-"));
	try {
		const toRepo = (path: string) => relative(dir, join(KUBERNETES_DIR, path));
		const { resources, components, ...rest } = choice.kustomization as {
			resources: string[];
			components: string[];
		};
		const kustomization = {
			apiVersion: "kustomize.config.k8s.io/v1beta1",
			kind: "Kustomization",
			...rest,
			resources: resources.map(toRepo),
			components: components.map((name) =>
				name.startsWith("./") ? name : toRepo(`components/${name}`),
			),
		};
		for (const [path, text] of Object.entries(choice.files ?? {})) {
			await mkdir(join(dir, path, ".."), { recursive: true });
			await writeFile(join(dir, path), text);
		}
		// JSON is YAML.
		await writeFile(
			join(dir, "kustomization.yaml"),
			JSON.stringify(kustomization),
		);
		return await kustomize(dir);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

function keysOf(objects: readonly KubeObject[]): string[] {
	return objects
		.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`)
		.sort();
}

function image(newName: string, newTag: string) {
	return { name: "ghcr.io/sherpany/sherpany", newName, newTag };
}

function replicas(min: number, max: number) {
	return jsonPatch("HorizontalPodAutoscaler", "sherpany", [
		["/spec/minReplicas", min],
		["/spec/maxReplicas", max],
	]);
}

function jsonPatch(
	kind: string,
	name: string,
	replacements: readonly (readonly [string, unknown])[],
) {
	return {
		target: { kind, name },
		patch: JSON.stringify(
			replacements.map(([path, value]) => ({ op: "replace", path, value })),
		),
	};
}

t.test(
	"sherpany_state=absent deletes everything but the data, unless sherpany_delete_data",
	async (t) => {
		if (!(await ansibleOrSkip(t))) return;
		// Three renders (each is a whole play): both databases keeping their
		// data, and one told to delete it.
		const cnpg = {
			sherpany_database: "cloudnativepg",
			sherpany_database_secret: { "serve-password": SERVE_PASSWORD },
		};
		const cases: [string, Record<string, unknown>, boolean, string[]][] = [
			[
				"in-cluster",
				{ sherpany_database_secret: VAULTED },
				false,
				[
					"Namespace/sherpany",
					"PersistentVolumeClaim/sherpany-postgres-backup",
				],
			],
			[
				"cloudnativepg",
				cnpg,
				false,
				["Namespace/sherpany", "Cluster/sherpany-db"],
			],
			["cloudnativepg", cnpg, true, []],
		];
		for (const [label, vars, deleteData, kept] of cases) {
			const renderDir = await mkdtemp(join(tmpdir(), "sherpany-absent-"));
			t.teardown(() => rm(renderDir, { recursive: true, force: true }));
			const rendered = await renderWithAnsible(
				{
					...vars,
					sherpany_state: "absent",
					sherpany_delete_data: deleteData,
				},
				{ renderDir },
			);
			const lines = (
				await readFile(join(renderDir, "localhost", "deletes.txt"), "utf8")
			)
				.split("\n")
				.filter((line) => line.trim() !== "");
			const objects = rendered.objects.localhost ?? [];
			t.equal(lines.length, objects.length, `${label}: a line per object`);
			t.same(
				lines
					.filter((line) => line.startsWith("keep "))
					.map((l) => l.slice(5))
					.sort(),
				[...kept].sort(),
				`${label}, sherpany_delete_data=${deleteData}: ${deleteData ? "nothing" : "the data"} kept`,
			);
			t.match(
				lines.at(-1),
				/^\w+ Namespace\/sherpany$/,
				"last applied first: the namespace, applied first, comes last",
			);
		}
	},
);
