/** Media types the client reads and writes (OCI image spec, Docker v2, CNCF Wasm OCI artifact layout). */
import { READ_LIMITS } from "../util/bounded-read.ts";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

export const WASM_CONFIG = "application/vnd.wasm.config.v0+json";
export const WASM_LAYER = "application/wasm";

/** Layer types that carry a Wasm module or component (facts: CNCF, wasm-to-oci, runwasi, and the component type). */
export const WASM_LAYER_TYPES: readonly string[] = [
  WASM_LAYER,
  "application/vnd.wasm.content.layer.v1+wasm",
  "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
  "application/vnd.wasm.component.v1",
];

export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];

/** Sent on every manifest GET/HEAD: some registries answer 404 for an OCI manifest without it. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(", ");

export const ANNOTATION_TITLE = "org.opencontainers.image.title";
export const ANNOTATION_CREATED = "org.opencontainers.image.created";
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

/** Registries refuse larger manifests too; a bigger one is a sign of an attack or a mistake. */
export const MAX_MANIFEST_BYTES = READ_LIMITS.manifest;
