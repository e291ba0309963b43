/**
 * A throw-away certificate authority and one server certificate for HTTPS tests, made with the
 * `openssl` CLI (as token-server.ts makes its key). Point the CLI at the CA with
 * NODE_EXTRA_CA_CERTS=ca.caPath; serve with `startFaultProxy(target, { tls: ca.server })`.
 *
 *   const ca = await makeTestCa(dir, ["registry.test", "storage.test"]);
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./processes.ts";

export interface TestCa {
  /** PEM file of the CA certificate, for NODE_EXTRA_CA_CERTS. */
  caPath: string;
  /** PEM key and certificate (signed by the CA, valid for every name given). */
  server: { key: string; cert: string };
}

async function openssl(args: string[]): Promise<void> {
  const r = await runCommand("openssl", args, { timeoutMs: 20_000 }).catch((e: unknown) => {
    throw new Error(`HTTPS tests need the openssl CLI (apt-get install -y openssl): ${String(e)}`);
  });
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

export async function makeTestCa(dir: string, names: string[]): Promise<TestCa> {
  const caKey = join(dir, "ca-key.pem");
  const caPath = join(dir, "ca.pem");
  const key = join(dir, "server-key.pem");
  const csr = join(dir, "server.csr");
  const cert = join(dir, "server.pem");
  const ext = join(dir, "server-ext.cnf");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(["req", "-x509", ...ec, "-keyout", caKey, "-out", caPath, "-days", "2", "-subj", "/CN=wasm-oci test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  await openssl(["req", "-new", ...ec, "-keyout", key, "-out", csr, "-subj", `/CN=${names[0] ?? "localhost"}`]);
  await writeFile(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  await openssl(["x509", "-req", "-in", csr, "-CA", caPath, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext]);
  return { caPath, server: { key: await readFile(key, "utf8"), cert: await readFile(cert, "utf8") } };
}
