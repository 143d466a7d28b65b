/**
 * Gives a running test PostgreSQL (started with `{ ssl: true }`) a server
 * certificate for other host names, signed by a CA made here, and reloads
 * it: for clients that verify a cluster-internal name such as
 * `sherpany-db-rw.sherpany` with `sslmode=verify-full`.
 *
 * @module
 */
import { execFile } from "node:child_process";
import {
	chmod,
	chown,
	copyFile,
	mkdtemp,
	readFile,
	rm,
	stat,
	writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import type { Test } from "tap";
import type { PostgresCluster } from "./postgres.ts";

/**
 * Makes a CA and a certificate for `hostNames` signed by it, puts them in
 * place of the server's certificate and key, and reloads its configuration.
 * Returns the CA certificate (PEM).
 */
export async function useServerCertificate(
	t: Pick<Test, "teardown">,
	pg: PostgresCluster,
	hostNames: readonly string[],
): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), "sherpany-cert-"));
	t.teardown(() => rm(dir, { recursive: true, force: true }));
	const openssl = (...args: string[]) => run("openssl", args, dir);
	const newKey = [
		"-newkey",
		"ec",
		"-pkeyopt",
		"ec_paramgen_curve:prime256v1",
		"-nodes",
	];
	await writeFile(
		join(dir, "server.ext"),
		`subjectAltName=${hostNames.map((name) => `DNS:${name}`).join(",")}\n` +
			"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
	);
	await openssl(
		"req",
		"-x509",
		...newKey,
		"-keyout",
		"ca.key",
		"-out",
		"ca.crt",
		"-days",
		"2",
		"-subj",
		"/CN=sherpany-conformance-ca",
		"-addext",
		"basicConstraints=critical,CA:TRUE",
		"-addext",
		"keyUsage=critical,keyCertSign,cRLSign",
	);
	await openssl(
		"req",
		...newKey,
		"-keyout",
		"server.key",
		"-out",
		"server.csr",
		"-subj",
		`/CN=${hostNames[0]}`,
	);
	await openssl(
		"x509",
		"-req",
		"-in",
		"server.csr",
		"-CA",
		"ca.crt",
		"-CAkey",
		"ca.key",
		"-CAcreateserial",
		"-days",
		"2",
		"-extfile",
		"server.ext",
		"-out",
		"server.crt",
	);
	// The server was started with ssl_cert_file and ssl_key_file on its
	// command line, which ALTER SYSTEM cannot override: replace the files
	// themselves, keeping their owner and mode, and reload.
	const [paths] = await pg.query(
		pg.adminUrl,
		"SELECT current_setting('ssl_cert_file') AS cert, current_setting('ssl_key_file') AS key",
	);
	for (const [from, to] of [
		["server.crt", String(paths?.cert)],
		["server.key", String(paths?.key)],
	] as const) {
		const { uid, gid, mode } = await stat(to);
		await copyFile(join(dir, from), to);
		await chown(to, uid, gid);
		await chmod(to, mode & 0o777);
	}
	await pg.query(pg.adminUrl, "SELECT pg_reload_conf()");
	// The postmaster reloads asynchronously: wait until a new session is
	// served the new certificate.
	const ca = await readFile(join(dir, "ca.crt"), "utf8");
	const deadline = Date.now() + 10_000;
	for (;;) {
		const client = new Client({
			connectionString: pg.adminUrl,
			ssl: {
				ca,
				// Only the name matters here: is this the new certificate yet?
				checkServerIdentity: (_host, cert) =>
					cert.subjectaltname?.includes(`DNS:${hostNames[0]}`)
						? undefined
						: new Error("still the old certificate"),
			},
		});
		try {
			await client.connect();
			await client.end();
			break;
		} catch (error) {
			await client.end().catch(() => {});
			if (Date.now() > deadline)
				throw new Error("PostgreSQL did not reload its TLS certificate", {
					cause: error,
				});
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}
	return ca;
}

function run(
	file: string,
	args: readonly string[],
	cwd: string,
): Promise<void> {
	return new Promise((resolve, reject) => {
		execFile(file, [...args], { cwd }, (error, _stdout, stderr) => {
			if (error)
				reject(
					new Error(`${file} ${args.join(" ")} failed: ${stderr.trim()}`, {
						cause: error,
					}),
				);
			else resolve();
		});
	});
}
