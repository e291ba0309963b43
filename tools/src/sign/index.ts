/**
 * Public interface of wasmsign2-compatible signing, for the CLI and for other commands
 * (`push --policy` signs before publishing, `pull`/`compose --policy` verify through
 * policy/decide.ts). Inputs are a file path or the module's bytes; files are streamed.
 */
import { readFile } from "node:fs/promises";
import { formatBytes, READ_LIMITS, readRegularFile } from "../util/bounded-read.ts";
import { UsageError } from "../util/errors.ts";
import { emitModule, moduleBytes, PendingOutputs } from "./output.ts";
import { PREAMBLE_SIZE } from "./sections.ts";
import { planSign, type SignOptions, type SignPlan } from "./sign.ts";
import { withSource } from "./source.ts";
import { verifySource, type VerifyOptions, type VerifyResult } from "./verify.ts";
import type { PublicKey } from "./keys.ts";

export type { SignOptions, SignPlan } from "./sign.ts";
export type { VerifyOptions, VerifyResult, KeyVerification } from "./verify.ts";
export type { PublicKey, SecretKey } from "./keys.ts";
export type { KeyFormat } from "./key-files.ts";
export { SignFormatError, type SignErrorCode } from "./errors.ts";
export { generateSecretKey, keyIdFor, keyIdHex, publicKeyFromRaw, secretKeyFromSeed } from "./keys.ts";
export { loadPublicKey, loadPublicKeys, loadSecretKey, parsePublicKeys, parseSecretKey, writeKeyPair } from "./key-files.ts";
export { formatOpenSshPublicKey, formatOpenSshPrivateKey, parseOpenSshPrivateKey, parseOpenSshPublicKeys } from "./openssh.ts";
export { parseSignatureData, serializeSignatureData, type SignatureData } from "./signature-data.ts";
export { describeModule, type ModuleDescription } from "./ops.ts";
import { describeModule, planAttach, planDetach, planSplit, type ModuleDescription } from "./ops.ts";

export interface SignResult {
  /** The signature data (embedded as section 0, or the detached signature). */
  signature: Uint8Array;
  /** Hex of the hashes that were signed. */
  hashes: string[];
  keyId?: string;
  setIndex: number;
}

function summary(plan: SignPlan): SignResult {
  const r: SignResult = { signature: plan.signature, hashes: plan.hashes.map((h) => Buffer.from(h).toString("hex")), setIndex: plan.setIndex };
  if (plan.keyId !== undefined) r.keyId = Buffer.from(plan.keyId).toString("hex");
  return r;
}

/**
 * Signs a module or component held in memory. Returns the signed module (with the signature
 * embedded as section 0, or unchanged apart from header normalization when `detached`) and
 * the signature data.
 */
export async function signBytes(module: Uint8Array, opts: SignOptions): Promise<SignResult & { module: Uint8Array }> {
  return withSource(module, async (src) => {
    const plan = await planSign(src, opts);
    return { ...summary(plan), module: await moduleBytes(src, plan.module) };
  });
}

/**
 * Signs the file `input` into `output` (which may be the same path) without loading it whole.
 * With `signatureFile`, the signature is written there and `output` gets the module unsigned
 * (wasmsign2 `sign -S`). Nothing is written unless every output is complete.
 */
export async function signFile(input: string, output: string, opts: Omit<SignOptions, "detached"> & { signatureFile?: string }): Promise<SignResult> {
  const detached = opts.signatureFile !== undefined;
  return withSource(input, async (src) =>
    PendingOutputs.run(async (out) => {
      // One pass: content is written (behind the predicted signature section) while it is hashed.
      const file = await out.positional(output);
      const plan = await planSign(src, { ...opts, detached }, {
        async begin(predicted) {
          let pos = PREAMBLE_SIZE + predicted;
          return async (chunk) => {
            await file.writeAt(pos, chunk);
            pos += chunk.length;
          };
        },
      });
      if (plan.singlePass) {
        await file.writeAt(0, plan.module.preamble);
        if (!detached) await file.writeAt(PREAMBLE_SIZE, plan.module.items[0] as Uint8Array);
      } else {
        await file.truncate();
        let pos = 0;
        await emitModule(src, plan.module, async (chunk) => {
          await file.writeAt(pos, chunk);
          pos += chunk.length;
        });
      }
      if (opts.signatureFile !== undefined) await out.bytes(opts.signatureFile, plan.signature);
      return summary(plan);
    }),
  );
}

/**
 * Verifies a module (path or bytes) against one or more public keys. Returns a result for each
 * key; `ok` when at least one verified. An unsigned module is `signed: false`, not an error;
 * malformed modules or signature data throw SignFormatError.
 */
export async function verifyBytes(module: string | Uint8Array, keys: PublicKey[], opts: VerifyOptions = {}): Promise<VerifyResult> {
  return withSource(module, (src) => verifySource(src, keys, opts));
}

/** Same as verifyBytes, with the detached signature read from a file. */
export async function verifyFile(input: string, keys: PublicKey[], opts: { signatureFile?: string; sections?: RegExp } = {}): Promise<VerifyResult> {
  const vo: VerifyOptions = {};
  if (opts.signatureFile !== undefined) vo.detachedSignature = await readSignatureFile(opts.signatureFile);
  if (opts.sections !== undefined) vo.sections = opts.sections;
  return verifyBytes(input, keys, vo);
}

export async function readSignatureFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readRegularFile(path, READ_LIMITS.signature, (size) => new Error(`${size} bytes or more; signature data is at most ${formatBytes(READ_LIMITS.signature)}`)));
  } catch (e) {
    throw new UsageError(`cannot read signature file ${path}: ${(e as Error).message}`, "SIGNATURE_FILE");
  }
}


/** `detach`: removes the embedded signature; returns the module without it and the signature data. */
export async function detachBytes(module: Uint8Array): Promise<{ module: Uint8Array; signature: Uint8Array }> {
  return withSource(module, async (src) => {
    const plan = await planDetach(src);
    return { signature: plan.signature, module: await moduleBytes(src, plan.module) };
  });
}

export async function detachFile(input: string, output: string, signatureFile: string): Promise<void> {
  await withSource(input, async (src) => {
    const plan = await planDetach(src);
    await PendingOutputs.run(async (out) => {
      await out.module(output, src, plan.module);
      await out.bytes(signatureFile, plan.signature);
    });
  });
}

/** `attach`: embeds signature data as section 0 (refused when the module already has one). */
export async function attachBytes(module: Uint8Array, signature: Uint8Array): Promise<Uint8Array> {
  return withSource(module, async (src) => moduleBytes(src, await planAttach(src, signature)));
}

export async function attachFile(input: string, output: string, signatureFile: string): Promise<void> {
  const signature = await readSignatureFile(signatureFile);
  await withSource(input, async (src) => {
    const plan = await planAttach(src, signature);
    await PendingOutputs.run((out) => out.module(output, src, plan));
  });
}

/** `split`: adds signature delimiters so `verify -s REGEX` can check part of the module. */
export async function splitBytes(module: Uint8Array, signedSections?: RegExp): Promise<{ module: Uint8Array; delimiters: number }> {
  return withSource(module, async (src) => {
    const plan = await planSplit(src, signedSections);
    return { module: await moduleBytes(src, plan.module), delimiters: plan.delimiters };
  });
}

export async function splitFile(input: string, output: string, signedSections?: RegExp): Promise<{ delimiters: number }> {
  return withSource(input, async (src) => {
    const plan = await planSplit(src, signedSections);
    await PendingOutputs.run((out) => out.module(output, src, plan.module));
    return { delimiters: plan.delimiters };
  });
}

export async function describeFile(input: string | Uint8Array): Promise<ModuleDescription> {
  return withSource(input, (src) => describeModule(src));
}
