/**
 * Start a registry: Debian's docker-registry on a free loopback port, or, where it is not
 * installed, an OCI image layout directory standing in for it (Bazel cannot pull from that, so
 * the Bazel step then builds only what needs no registry).
 */
import { join } from "node:path";
import { REGISTRY_BIN, registryAvailable, startRegistry } from "../../../test/helpers/registry.ts";
import type { DemoStep } from "../context.ts";

export const registrySteps: DemoStep[] = [
  {
    title: "Start a registry",
    async run(ctx) {
      if (registryAvailable()) {
        const reg = await startRegistry();
        ctx.onCleanup(async () => {
          await reg.stop();
          ctx.say(`stopped docker-registry at ${reg.host}`);
        });
        ctx.target = {
          kind: "docker-registry",
          describe: `docker-registry (CNCF distribution) at ${reg.url}, storage in ${reg.dataDir}`,
          setupRegistry: reg.host,
          host: reg.host,
          pushRef: (repo, tag) => `${reg.host}/${repo}:${tag}`,
          pullRef: (repo, digest) => `${reg.host}/${repo}@${digest}`,
          skopeoRef: (repo, tag) => `docker://${reg.host}/${repo}:${tag}`,
        };
      } else {
        const dir = join(ctx.workDir, "registry-layout");
        ctx.say(`${REGISTRY_BIN} is not installed, so this run publishes to an OCI image layout directory instead.`);
        ctx.say("For the real thing: sudo apt-get install -y docker-registry (or bash .ci/setup), then pnpm demo again.");
        ctx.target = {
          kind: "oci-layout",
          describe: `OCI image layout at ${dir} (fallback: docker-registry not installed)`,
          setupRegistry: `oci-layout:${dir}`,
          // One layout per repository, as a registry keeps tags per repository.
          pushRef: (repo, tag) => `oci-layout:${join(dir, repo)}:${tag}`,
          pullRef: (repo, digest) => `oci-layout:${join(dir, repo)}@${digest}`,
          skopeoRef: (repo, tag) => `oci:${join(dir, repo)}:${tag}`,
        };
      }
      ctx.say(`publishing to ${ctx.target.describe}`);
      ctx.summary(`registry: ${ctx.target.describe}`);
    },
  },
];
