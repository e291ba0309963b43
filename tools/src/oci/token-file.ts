/**
 * Tokens kept in files, such as a Kubernetes projected service-account token. Read at execution
 * time on every resolution: these files are rotated in place.
 */
import { READ_LIMITS, readTextFile } from "../util/bounded-read.ts";
import { WasmOciError, errorMessage } from "../util/errors.ts";
import { registerSecret } from "../util/log.ts";

export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readTextFile(path, READ_LIMITS.tokenFile, "CREDENTIAL_UNAVAILABLE", "token file");
  } catch (e) {
    throw new WasmOciError("CREDENTIAL_UNAVAILABLE", `token file ${path}: cannot read: ${errorMessage(e)}`);
  }
  const token = text.trim();
  registerSecret(token);
  if (token === "") throw new WasmOciError("CREDENTIAL_UNAVAILABLE", `token file ${path} is empty`);
  if (/[\r\n]/.test(token)) throw new WasmOciError("CREDENTIAL_UNAVAILABLE", `token file ${path} holds more than one line; expected a single token`);
  return token;
}
