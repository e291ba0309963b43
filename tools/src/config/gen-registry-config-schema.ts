/**
 * Writes registry-config.schema.json from the zod schema. test/unit/registry-config.test.ts fails
 * when the committed file is stale. Run: pnpm exec tsx tools/src/config/gen-registry-config-schema.ts
 */
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { registryConfigJsonSchema } from "./registry-config.ts";

export const schemaPath = fileURLToPath(new URL("./registry-config.schema.json", import.meta.url));

export function registryConfigSchemaText(): string {
  return `${JSON.stringify(registryConfigJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFileAtomic(schemaPath, registryConfigSchemaText());
  process.stderr.write(`wrote ${schemaPath}\n`);
}
