/**
 * A CA and a server certificate made on the spot with `openssl`, for
 * PostgreSQL clusters started with TLS (`startPostgres(t, { ssl: true })`).
 */
import { execFile } from "node:child_process";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ServerUser } from "./postgres-servers.ts";

/** The files of a CA and a server certificate it signed. */
export interface Certificates {
	caFile: string;
	certFile: string;
	keyFile: string;
}

/** Makes a CA and a server certificate for 127.0.0.1/localhost signed by it, with P-256 keys (faster than RSA). */
export async function makeCertificates(
	dir: string,
	runAs: ServerUser | undefined,
): Promise<Certificates> {
	await requireOpenssl();
	await mkdir(dir);
	const path = (name: string) => join(dir, name);
	const openssl = (args: string) => exec("openssl", args.split(" "), dir);
	const newKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	await writeFile(
		path("server.ext"),
		"subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
			"keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
	);
	// Names without spaces, so the argument strings can be split on spaces.
	await Promise.all([
		openssl(
			`req -x509 ${newKey} -keyout ca.key -out ca.crt -days 2 -subj /CN=sherpany-test-ca ` +
				"-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
		),
		openssl(
			`req ${newKey} -keyout server.key -out server.csr -subj /CN=127.0.0.1`,
		),
	]);
	await openssl(
		"x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt",
	);
	// PostgreSQL refuses a key that others can read or that another user owns.
	await chmod(path("server.key"), 0o600);
	if (runAs) {
		for (const name of ["", "server.key", "server.crt"]) {
			await chown(path(name), runAs.uid, runAs.gid);
		}
	}
	return {
		caFile: path("ca.crt"),
		certFile: path("server.crt"),
		keyFile: path("server.key"),
	};
}

/** Fails with what to install when there is no `openssl` command. */
async function requireOpenssl(): Promise<void> {
	try {
		await exec("openssl", ["version"], "/");
	} catch (error) {
		throw new Error(
			"The TLS tests need the openssl command to make certificates, and it is not on PATH: install it (`apt-get install -y openssl`, or `bash .ci/install-postgres.sh` as root)",
			{ cause: error },
		);
	}
}

function exec(
	file: string,
	args: readonly string[],
	cwd: string,
): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(file, args, { cwd }, (error, stdout, stderr) => {
			if (error)
				reject(
					new Error(`${file} ${args.join(" ")} failed: ${stderr.trim()}`, {
						cause: error,
					}),
				);
			else resolve(stdout);
		});
	});
}
