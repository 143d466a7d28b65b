/**
 * The choices of variables the Terraform mapping test runs, and what the
 * test expects of each in its own terms: a kustomization it writes by itself
 * (strategic-merge patches where the module writes JSON patches), so that
 * the module's mapping is compared with an independent statement of intent.
 *
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { REFUSED_BY_BOTH } from "./deploy-rules.ts";
import { KUBERNETES_DIR } from "./kustomize.ts";

const { version } = JSON.parse(
	await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

const DIGEST = `sha256:${"ab".repeat(32)}`;
const ZERO_DIGEST = `sha256:${"0".repeat(64)}`;
/** A pinned PostgreSQL image for the release choices. */
export const RELEASE_POSTGRES_IMAGE = `ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie@${DIGEST}`;
/** The app's digest the release choices pin. */
export const RELEASE_DIGEST = DIGEST;
const CA_BUNDLE =
	"-----BEGIN CERTIFICATE-----\nMIIBdummyCertificateForTheTestOnly\n-----END CERTIFICATE-----\n";
/** The in-cluster database's three roles' passwords (all different, 16+ characters). */
const PASSWORDS = {
	superuser: "a-superuser-password-of-36-chars!!!",
	migrate: "a-migrate-password=with#odd'chars",
	serve: "a-serve-password-of-24-chars",
};
/** The password of CloudNativePG's read-only role, with characters kustomize's literals care about. */
const SERVE_PASSWORD = "a-cnpg-serve=password#of'36-chars";
const RECOMMENDED_LABELS = {
	"app.kubernetes.io/name": "sherpany",
	"app.kubernetes.io/instance": "sherpany",
	"app.kubernetes.io/part-of": "sherpany",
	"app.kubernetes.io/managed-by": "kustomize",
	"app.kubernetes.io/component": "database",
};

/** A token file: two accepted tokens' hashes, a comment and a blank line. */
const TOKEN_HASHES = `# who may read /users\n${"0a".repeat(32)} ops\n\n${"b1".repeat(32)}\n`;

/** What the test expects for one choice, in its own terms. */
export interface Expected {
	readonly namespace: string;
	readonly components: readonly string[];
	readonly image: { newName?: string; newTag: string; digest?: string };
	readonly replicas: { min: number; max: number };
	readonly logLevel: string;
	/** A Secret generated from these literals. */
	readonly secret?: { name: string; literals: string[] };
	/** cloudnativepg: the password in Secret sherpany-db-serve. */
	readonly servePassword?: string;
	/** The API tokens' Secret, generated from this token file. */
	readonly apiTokenHashes?: string;
	/** Patches in this test's own form (mostly strategic merge). */
	readonly patches?: readonly unknown[];
}

export interface Case {
	readonly label: string;
	readonly variables: Record<string, unknown>;
	readonly expected: Expected;
	/** Release-style: every image pinned by digest. */
	readonly release?: boolean;
}

export const CASES: readonly Case[] = [
	{
		label:
			"defaults: in-cluster PostgreSQL, one password per role from a variable",
		variables: { database_passwords: PASSWORDS },
		expected: {
			namespace: "sherpany",
			components: ["postgres"],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			secret: {
				name: "sherpany-database",
				literals: [
					`superuser-password=${PASSWORDS.superuser}`,
					`migrate-password=${PASSWORDS.migrate}`,
					`serve-password=${PASSWORDS.serve}`,
				],
			},
		},
	},
	{
		label:
			"in-cluster in another namespace, own registry by digest, Ingress, ExternalSecret, seed Job",
		variables: {
			namespace: "shop",
			image: {
				name: "registry.example.com/team/sherpany",
				tag: version,
				digest: DIGEST,
			},
			replicas: { min: 3, max: 9 },
			log_level: "warn",
			database: {
				mode: "in-cluster",
				image: `docker.io/library/postgres:17.6-bookworm@${DIGEST}`,
			},
			credentials: {
				source: "external-secret",
				external_secret: {
					store_kind: "SecretStore",
					store_name: "vault",
					remote_key: "prod/sherpany",
				},
			},
			ingress: {
				host: "users.shop.example",
				tls_secret_name: "users-tls",
				class_name: "traefik",
				annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
			},
			seed_job: true,
		},
		release: true,
		expected: {
			namespace: "shop",
			components: ["postgres", "ingress", "external-secret", "seed-job"],
			image: {
				newName: "registry.example.com/team/sherpany",
				newTag: version,
				digest: DIGEST,
			},
			replicas: { min: 3, max: 9 },
			logLevel: "warn",
			patches: [
				strategic("apps/v1", "StatefulSet", "sherpany-postgres", {
					spec: {
						template: {
							spec: {
								containers: [
									{
										name: "postgres",
										image: `docker.io/library/postgres:17.6-bookworm@${DIGEST}`,
									},
								],
							},
						},
					},
				}),
				strategic("batch/v1", "CronJob", "sherpany-postgres-backup", {
					spec: {
						jobTemplate: {
							spec: {
								template: {
									spec: {
										containers: [
											{
												name: "backup",
												image: `docker.io/library/postgres:17.6-bookworm@${DIGEST}`,
											},
										],
									},
								},
							},
						},
					},
				}),
				strategic(
					"external-secrets.io/v1",
					"ExternalSecret",
					"sherpany-database",
					{
						spec: {
							secretStoreRef: { kind: "SecretStore", name: "vault" },
							dataFrom: [{ extract: { key: "prod/sherpany" } }],
						},
					},
				),
				...ingressPatches("users.shop.example", "users-tls", "traefik", {
					"cert-manager.io/cluster-issuer": "letsencrypt",
				}),
			],
		},
	},
	{
		label:
			"CloudNativePG with the operator's secret and the read-only role's password, Ingress, API tokens from an existing Secret, seed Job",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
			ingress: { host: "api.example.org" },
			seed_job: true,
			api_auth: "existing-secret",
		},
		expected: {
			namespace: "sherpany",
			components: ["cloudnativepg", "ingress", "api-tokens", "seed-job"],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			servePassword: SERVE_PASSWORD,
			patches: ingressPatches("api.example.org", "sherpany-tls", "nginx", {}),
		},
	},
	{
		label: "in-cluster backups at another time, keeping 3 dumps",
		variables: {
			database_passwords: PASSWORDS,
			backup: { schedule: "30 1 * * 0", keep: 3 },
		},
		expected: {
			namespace: "sherpany",
			components: ["postgres"],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			secret: {
				name: "sherpany-database",
				literals: [
					`superuser-password=${PASSWORDS.superuser}`,
					`migrate-password=${PASSWORDS.migrate}`,
					`serve-password=${PASSWORDS.serve}`,
				],
			},
			patches: [
				strategic("batch/v1", "CronJob", "sherpany-postgres-backup", {
					spec: {
						schedule: "30 1 * * 0",
						jobTemplate: {
							spec: {
								template: {
									spec: {
										containers: [
											{
												name: "backup",
												// The whole list, in the manifest's order: a
												// strategic merge puts the entries it names first.
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
			],
		},
	},
	{
		label:
			"CloudNativePG backed up to S3-compatible storage, and recovered to a point in time",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
			backup: {
				schedule: "15 2 * * *",
				retention: "8w",
				destination_path: "s3://backups/sherpany",
				endpoint_url: "https://minio.example.org",
				server_name: "sherpany-db-2",
				recover_from: "sherpany-db",
				recovery_target_time: "2026-12-07T03:15:00Z",
			},
		},
		expected: {
			namespace: "sherpany",
			components: [
				"cloudnativepg",
				"cloudnativepg-backup",
				"cloudnativepg-recovery",
			],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			servePassword: SERVE_PASSWORD,
			patches: [
				strategic("barmancloud.cnpg.io/v1", "ObjectStore", "sherpany-backup", {
					spec: {
						retentionPolicy: "8w",
						configuration: {
							destinationPath: "s3://backups/sherpany",
							endpointURL: "https://minio.example.org",
						},
					},
				}),
				strategic("postgresql.cnpg.io/v1", "ScheduledBackup", "sherpany-db", {
					spec: { schedule: "0 15 2 * * *" },
				}),
				strategic("postgresql.cnpg.io/v1", "Cluster", "sherpany-db", {
					spec: {
						plugins: [
							{
								name: "barman-cloud.cloudnative-pg.io",
								isWALArchiver: true,
								parameters: {
									barmanObjectName: "sherpany-backup",
									serverName: "sherpany-db-2",
								},
							},
						],
						externalClusters: [
							{
								name: "sherpany-db-backup",
								plugin: {
									name: "barman-cloud.cloudnative-pg.io",
									parameters: {
										barmanObjectName: "sherpany-backup",
										serverName: "sherpany-db",
									},
								},
							},
						],
						bootstrap: {
							recovery: {
								recoveryTarget: { targetTime: "2026-12-07T03:15:00Z" },
							},
						},
					},
				}),
			],
		},
	},
	{
		label:
			"external database with a CA bundle, URL and API token hashes from variables",
		variables: {
			database: { mode: "external", ca_bundle: CA_BUNDLE },
			database_url: "postgres://app:pw@db.example.com:5432/app",
			replicas: { min: 1, max: 1 },
			api_auth: "secret",
			api_token_hashes: TOKEN_HASHES,
		},
		expected: {
			namespace: "sherpany",
			components: ["external-db", "api-tokens"],
			apiTokenHashes: TOKEN_HASHES,
			image: { newTag: version },
			replicas: { min: 1, max: 1 },
			logLevel: "info",
			secret: {
				name: "sherpany-database",
				literals: ["uri=postgres://app:pw@db.example.com:5432/app"],
			},
			patches: [
				strategic("v1", "ConfigMap", "sherpany-database-ca", {
					data: { "ca.crt": CA_BUNDLE },
				}),
			],
		},
	},
	{
		label: "an HTTPRoute to the default Gateway, existing Secret",
		variables: {
			database: { mode: "external", ca_bundle: CA_BUNDLE },
			credentials: { source: "existing-secret" },
			gateway: { host: "api.example.org" },
		},
		expected: {
			namespace: "sherpany",
			components: ["external-db", "gateway"],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			patches: [
				strategic("v1", "ConfigMap", "sherpany-database-ca", {
					data: { "ca.crt": CA_BUNDLE },
				}),
				httpRoutePatch("api.example.org", "gateway", "gateway-system", "https"),
			],
		},
	},
	{
		label: "an HTTPRoute to a Gateway elsewhere beside the Ingress",
		variables: {
			database: { mode: "external", ca_bundle: CA_BUNDLE },
			credentials: { source: "existing-secret" },
			ingress: { host: "api.example.org" },
			gateway: {
				host: "api.example.org",
				name: "public",
				namespace: "infra",
				section_name: "https-api",
			},
		},
		expected: {
			namespace: "sherpany",
			components: ["external-db", "ingress", "gateway"],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			patches: [
				strategic("v1", "ConfigMap", "sherpany-database-ca", {
					data: { "ca.crt": CA_BUNDLE },
				}),
				...ingressPatches("api.example.org", "sherpany-tls", "nginx", {}),
				httpRoutePatch("api.example.org", "public", "infra", "https-api"),
			],
		},
	},
	{
		label: "monitoring",
		variables: {
			database: { mode: "external", ca_bundle: CA_BUNDLE },
			credentials: { source: "external-secret" },
			monitoring: true,
		},
		expected: {
			namespace: "sherpany",
			components: ["external-db", "external-secret", "monitoring"],
			image: { newTag: version },
			replicas: { min: 2, max: 6 },
			logLevel: "info",
			patches: [
				strategic("v1", "ConfigMap", "sherpany-database-ca", {
					data: { "ca.crt": CA_BUNDLE },
				}),
			],
		},
	},
];

/**
 * Variables that reproduce each shipped overlay. release's adds the Secret
 * sherpany-db-serve, which the overlay leaves to the operator:
 * OVERLAY_SERVE_PASSWORDS says with which password.
 */
export const OVERLAYS: Readonly<Record<string, Record<string, unknown>>> = {
	dev: {
		image: { name: "localhost/sherpany", tag: version },
		replicas: { min: 1, max: 2 },
		log_level: "debug",
		// overlays/dev's secretGenerator literals.
		database_passwords: {
			superuser: "dev-only-superuser-not-a-secret",
			migrate: "dev-only-migrate-not-a-secret",
			serve: "dev-only-serve-not-a-secret",
		},
		seed_job: true,
	},
	// With the digests the release pushed (RELEASE_DIGESTS), as its
	// published manifests have them; no seed Job in production.
	release: {
		image: { tag: version, digest: DIGEST },
		database: { mode: "cloudnativepg", image: RELEASE_POSTGRES_IMAGE },
		credentials: { source: "operator" },
		database_passwords: { serve: SERVE_PASSWORD },
		ingress: { host: "api.example.com" },
		release: true,
		api_auth: "existing-secret",
	},
};

/** The password of Secret sherpany-db-serve that an overlay's variables add to it. */
export const OVERLAY_SERVE_PASSWORDS: Readonly<Record<string, string>> = {
	release: SERVE_PASSWORD,
};

/** The kustomization's list fields and the dynamic blocks of modules/sherpany that take them. */
export const DYNAMIC_BLOCKS: Readonly<Record<string, string>> = {
	images: "images",
	configMapGenerator: "config_map_generator",
	secretGenerator: "secret_generator",
	patches: "patches",
};

/** Invalid choices and the validation message each must meet. */
export const REFUSED: ReadonlyArray<{
	label: string;
	variables: Record<string, unknown>;
	message: RegExp;
}> = [
	{
		label: "cloudnativepg with a password of our own",
		variables: {
			database: { mode: "cloudnativepg" },
			database_passwords: PASSWORDS,
		},
		message: /credentials\.source must be "operator" exactly when/,
	},
	{
		label: "cloudnativepg without the read-only role's password",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
		},
		message:
			/database_passwords is required when[\s\S]*database\.mode is cloudnativepg \(serve/,
	},
	{
		label: "cloudnativepg with the owner's and superuser's passwords",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: PASSWORDS,
		},
		message: /cloudnativepg takes serve alone/,
	},
	{
		label: "in-cluster without the owner's password",
		variables: { database_passwords: { serve: PASSWORDS.serve } },
		message: /in-cluster takes superuser, migrate and serve/,
	},
	{
		label: "cloudnativepg with a short read-only password",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: "short" },
		},
		message: /\.serve must each be at least 16/,
	},
	{
		label: "in-cluster with a generated Secret but no password",
		variables: {},
		message: /database_passwords is required when database\.mode is in-cluster/,
	},
	{
		label: "a role's password shorter than 16 characters",
		variables: { database_passwords: { ...PASSWORDS, serve: "short" } },
		message: /\.serve must each be at least 16/,
	},
	{
		label: "the same password for two roles",
		variables: {
			database_passwords: { ...PASSWORDS, serve: PASSWORDS.migrate },
		},
		message: /\.serve must all differ/,
	},
	{
		label: "the latest tag",
		variables: { image: { tag: "latest" }, database_passwords: PASSWORDS },
		message: /image\.tag must be a version tag \(not "latest"\)/,
	},
	{
		label: "min replicas above max",
		variables: {
			replicas: { min: 3, max: 2 },
			database_passwords: PASSWORDS,
		},
		message: /replicas must satisfy 1 <= min <= max <= 100/,
	},
	{
		label: "a CA bundle that is no PEM",
		variables: {
			database: { mode: "external", ca_bundle: "not a certificate" },
			database_url: "postgres://a:b@c/d",
		},
		message: /database\.ca_bundle must hold PEM certificates/,
	},
	{
		label: "API tokens from a variable that is not given",
		variables: { api_auth: "secret", database_passwords: PASSWORDS },
		message: /api_token_hashes is required when api_auth is secret/,
	},
	{
		label: "a token pasted in place of its hash",
		variables: {
			api_auth: "secret",
			api_token_hashes: `${"0a".repeat(32)} ops\nq2Zc1v7mJ0bX3nK9sT4wYp8uH6rL5aE1dF0gI2jO3kM=\n`,
			database_passwords: PASSWORDS,
		},
		message: /api_token_hashes must hold at least one line/,
	},
	{
		label: "a token file of comments only",
		variables: {
			api_auth: "secret",
			api_token_hashes: "# nobody yet\n",
			database_passwords: PASSWORDS,
		},
		message: /api_token_hashes must hold at least one line/,
	},
	{
		label: "an unknown database mode",
		variables: { database: { mode: "sqlite" } },
		message:
			/database\.mode must be one of in-cluster, cloudnativepg, external/,
	},
	...REFUSED_BY_BOTH.map(({ label, terraform }) => ({ label, ...terraform })),
	{
		label: "the all-zero placeholder digest of the app's image",
		variables: {
			image: { digest: ZERO_DIGEST },
			database_passwords: PASSWORDS,
		},
		message: /image\.digest is the all-zero placeholder/,
	},
	{
		label: "the all-zero placeholder digest of PostgreSQL's image",
		variables: {
			database: {
				mode: "cloudnativepg",
				image: `ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie@${ZERO_DIGEST}`,
			},
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
		},
		message: /database\.image ends in the all-zero placeholder digest/,
	},
	{
		label: "a release without the app's digest",
		variables: {
			release: true,
			database: { mode: "cloudnativepg", image: RELEASE_POSTGRES_IMAGE },
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
		},
		message: /release is true but image\.digest is not set/,
	},
	{
		label: "a release with PostgreSQL's image by tag alone",
		variables: {
			release: true,
			image: { digest: DIGEST },
			database: { mode: "in-cluster", image: "postgres:17.6" },
			credentials: { source: "existing-secret" },
		},
		message: /release is true but database\.image is not pinned by a digest/,
	},
	{
		label: "a Gateway host that is no DNS name",
		variables: {
			gateway: { host: "API.example.com" },
			database_passwords: PASSWORDS,
		},
		message: /gateway\.host must be a fully qualified DNS name/,
	},
	{
		label: "an Ingress host that is no DNS name",
		variables: {
			ingress: { host: "https://api.example.com/" },
			database_passwords: PASSWORDS,
		},
		message: /ingress\.host must be a fully qualified DNS name/,
	},
	{
		label: "a recovery that would archive into the folder it recovers from",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
			backup: { destination_path: "s3://b/p", recover_from: "sherpany-db" },
		},
		message: /backup\.server_name must differ from backup\.recover_from/,
	},
	{
		label: "keeping no dump",
		variables: { database_passwords: PASSWORDS, backup: { keep: 0 } },
		message: /backup\.keep must be a whole number of 1 or more/,
	},
	{
		label: "a retention the plugin cannot read",
		variables: {
			database_passwords: PASSWORDS,
			backup: { retention: "30 days" },
		},
		message: /backup\.retention must be a number and d, w or m/,
	},
	{
		label: "a recovery without an object store",
		variables: {
			database: { mode: "cloudnativepg" },
			credentials: { source: "operator" },
			database_passwords: { serve: SERVE_PASSWORD },
			backup: { recover_from: "old", server_name: "new" },
		},
		message: /backup\.recover_from needs backup\.destination_path/,
	},
];

/** Writes this test's own kustomization for a choice; returns its directory. */
export async function writeExpected(
	parent: string,
	label: string,
	expected: Expected,
): Promise<string> {
	const dir = join(
		parent,
		"expected",
		label.replace(/[^a-z0-9]+/gi, "-").toLowerCase(),
	);
	await mkdir(dir, { recursive: true });
	const toRepo = (path: string) => relative(dir, join(KUBERNETES_DIR, path));
	const kustomization = {
		apiVersion: "kustomize.config.k8s.io/v1beta1",
		kind: "Kustomization",
		namespace: expected.namespace,
		resources: [toRepo("base")],
		components: expected.components.map((name) => toRepo(`components/${name}`)),
		images: [{ name: "ghcr.io/sherpany/sherpany", ...expected.image }],
		configMapGenerator: [
			{
				name: "sherpany",
				behavior: "merge",
				literals: [`LOG_LEVEL=${expected.logLevel}`],
			},
		],
		secretGenerator: [
			...(expected.secret
				? [{ ...expected.secret, options: { labels: RECOMMENDED_LABELS } }]
				: []),
			...(expected.servePassword === undefined
				? []
				: [serveSecretGenerator(expected.servePassword)]),
			...(expected.apiTokenHashes === undefined
				? []
				: [
						{
							name: "sherpany-api-tokens",
							literals: [`tokens=${expected.apiTokenHashes}`],
							options: {
								labels: {
									...RECOMMENDED_LABELS,
									"app.kubernetes.io/component": "api",
								},
								disableNameSuffixHash: true,
							},
						},
					]),
		],
		patches: [
			strategic("autoscaling/v2", "HorizontalPodAutoscaler", "sherpany", {
				spec: {
					minReplicas: expected.replicas.min,
					maxReplicas: expected.replicas.max,
				},
			}),
			...(expected.patches ?? []),
		],
	};
	// JSON is YAML.
	await writeFile(
		join(dir, "kustomization.yaml"),
		JSON.stringify(kustomization),
	);
	return dir;
}

/** Secret sherpany-db-serve as CloudNativePG reads a managed role's password. */
function serveSecretGenerator(password: string): unknown {
	return {
		name: "sherpany-db-serve",
		type: "kubernetes.io/basic-auth",
		literals: ["username=sherpany_serve", `password=${password}`],
		options: {
			// The Cluster names it, and kustomize rewrites no name in a custom resource.
			disableNameSuffixHash: true,
			labels: { ...RECOMMENDED_LABELS, "cnpg.io/reload": "true" },
		},
	};
}

/** A strategic-merge patch (a JSON merge patch for custom resources). */
function strategic(
	apiVersion: string,
	kind: string,
	name: string,
	body: Record<string, unknown>,
): unknown {
	// A target, so that kustomize matches by kind and name whatever namespace
	// the manifest declares.
	return {
		target: { kind, name },
		patch: JSON.stringify({ apiVersion, kind, metadata: { name }, ...body }),
	};
}

/** The Ingress's host, TLS secret, class and annotations. */
function ingressPatches(
	host: string,
	tlsSecret: string,
	className: string,
	annotations: Record<string, string>,
): unknown[] {
	// rules and tls are lists without merge keys: patch their fields in place.
	const ops = [
		{ op: "replace", path: "/spec/rules/0/host", value: host },
		{ op: "replace", path: "/spec/tls/0/hosts", value: [host] },
		{ op: "replace", path: "/spec/tls/0/secretName", value: tlsSecret },
	];
	return [
		{
			target: { kind: "Ingress", name: "sherpany" },
			patch: JSON.stringify(ops),
		},
		strategic("networking.k8s.io/v1", "Ingress", "sherpany", {
			...(Object.keys(annotations).length > 0
				? { metadata: { name: "sherpany", annotations } }
				: {}),
			spec: { ingressClassName: className },
		}),
	];
}

/** The HTTPRoute's host and Gateway, as a merge patch (lists replaced whole). */
function httpRoutePatch(
	host: string,
	name: string,
	namespace: string,
	sectionName: string,
): unknown {
	return strategic("gateway.networking.k8s.io/v1", "HTTPRoute", "sherpany", {
		spec: {
			hostnames: [host],
			parentRefs: [
				{
					group: "gateway.networking.k8s.io",
					kind: "Gateway",
					name,
					namespace,
					sectionName,
				},
			],
		},
	});
}
