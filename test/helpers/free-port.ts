/** Finding a TCP port for a server a test is about to start. */
import { createServer } from "node:net";

/** A port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			const port = typeof address === "object" && address ? address.port : 0;
			server.close(() =>
				port ? resolve(port) : reject(new Error("could not read a free port")),
			);
		});
	});
}
