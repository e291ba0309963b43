/**
 * Where a pull reads manifests and blobs from: a registry repository or a local OCI image layout.
 * Both give unverified bytes; the puller checks every digest.
 */
import { openRegularFile, readRegularFile } from "../util/bounded-read.ts";
import type { Readable } from "node:stream";
import { WasmOciError } from "../util/errors.ts";
import { isDigest, sha256Digest, type Digest } from "../util/digest.ts";
import { layoutBlobPath, readLayoutIndex, selectLayoutEntry } from "./layout.ts";
import { MAX_MANIFEST_BYTES } from "./media-types.ts";
import type { FetchedManifest, RegistryClient } from "./registry-client.ts";

export interface ContentSource {
  /** For messages: "127.0.0.1:5000/app" or "oci-layout:dir". */
  readonly name: string;
  /** A tag or a digest. */
  fetchManifest(reference: string): Promise<FetchedManifest>;
  openBlob(digest: Digest): Promise<{ body: Readable; size: number | undefined }>;
}

export class RegistrySource implements ContentSource {
  readonly name: string;
  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
  ) {
    this.name = `${client.registry}/${repository}`;
  }

  fetchManifest(reference: string): Promise<FetchedManifest> {
    return this.client.getManifest(this.repository, reference);
  }

  openBlob(digest: Digest): Promise<{ body: Readable; size: number | undefined }> {
    return this.client.getBlob(this.repository, digest);
  }
}

export class LayoutSource implements ContentSource {
  readonly name: string;
  constructor(readonly dir: string) {
    this.name = `oci-layout:${dir}`;
  }

  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const index = await readLayoutIndex(this.dir);
    const desc = isDigest(reference) ? selectLayoutEntry(index, this.dir, { digest: reference }) : selectLayoutEntry(index, this.dir, { tag: reference });
    const path = layoutBlobPath(this.dir, desc.digest);
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(
        path,
        MAX_MANIFEST_BYTES,
        (size) => new WasmOciError("MANIFEST_TOO_LARGE", `manifest ${path} is ${size} bytes or more; manifests over ${MAX_MANIFEST_BYTES} bytes (4 MiB) are refused`),
      );
    } catch (e) {
      if (e instanceof WasmOciError) throw e;
      throw new WasmOciError("MANIFEST_NOT_FOUND", `manifest ${desc.digest} is missing from ${this.name} (${path})`);
    }
    return { bytes, digest: sha256Digest(bytes), contentType: desc.mediaType || undefined };
  }

  /** A layout's first manifest entry when the reference names neither tag nor digest. */
  async defaultReference(): Promise<string> {
    const index = await readLayoutIndex(this.dir);
    return selectLayoutEntry(index, this.dir, {}).digest;
  }

  async openBlob(digest: Digest): Promise<{ body: Readable; size: number | undefined }> {
    const path = layoutBlobPath(this.dir, digest);
    let opened: Awaited<ReturnType<typeof openRegularFile>>;
    try {
      opened = await openRegularFile(path);
    } catch (e) {
      if (e instanceof WasmOciError) throw e;
      throw new WasmOciError("BLOB_NOT_FOUND", `blob ${digest} is missing from ${this.name} (${path})`);
    }
    // The puller stops reading once the descriptor's size is passed, so a growing file is bounded too.
    return { body: opened.handle.createReadStream({ highWaterMark: 1 << 20 }), size: opened.size };
  }
}
