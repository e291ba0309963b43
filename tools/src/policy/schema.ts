import * as z from "zod";

/**
 * The security policy JSON written by the Starlark rule `wasm_security_policy` (or by hand).
 * Unknown fields are rejected everywhere so a typo never silently weakens a policy.
 */
export const SigningSchema = z.enum(["required", "optional"]);

const KeyNameSchema = z.string().min(1, "a key name must not be empty");
const AllowedKeysSchema = z
  .array(KeyNameSchema)
  .min(1, "list at least one key name, or omit allowed_keys to allow every key in `keys`")
  .optional();

export const RegistryPolicySchema = z.strictObject({
  /** A registry name (host[:port] or a configured registry name) or a glob over it. */
  registry: z.string().min(1, "registry must not be empty"),
  signing: SigningSchema,
  allowed_keys: AllowedKeysSchema,
});

export const ComponentPolicySchema = z.strictObject({
  /** A component name or a glob over it. */
  component: z.string().min(1, "component must not be empty"),
  signing: SigningSchema,
  allowed_keys: AllowedKeysSchema,
});

export const PolicyKeySchema = z.strictObject({
  /** Path to the public key file, relative to the policy file's directory unless absolute. */
  public_key: z.string().min(1, "public_key must not be empty"),
  /** Key file format; default: "openssh" when openssh_format is true, else "compact". */
  format: z.enum(["compact", "openssh"]).optional(),
});

export const SecurityPolicySchema = z
  .strictObject({
    default_signing_required: z.boolean().default(false),
    signature_type: z.enum(["embedded", "detached"]).default("embedded"),
    openssh_format: z.boolean().default(false),
    registry_policies: z.array(RegistryPolicySchema).default([]),
    component_policies: z.array(ComponentPolicySchema).default([]),
    keys: z.record(KeyNameSchema, PolicyKeySchema).default({}),
  })
  .superRefine((p, ctx) => {
    const lists = [
      ["registry_policies", p.registry_policies],
      ["component_policies", p.component_policies],
    ] as const;
    for (const [list, rules] of lists) {
      rules.forEach((rule, i) => {
        (rule.allowed_keys ?? []).forEach((name, j) => {
          if (!Object.hasOwn(p.keys, name)) {
            ctx.addIssue({
              code: "custom",
              path: [list, i, "allowed_keys", j],
              message: `unknown key "${name}": it is not defined in keys (defined: ${Object.keys(p.keys).join(", ") || "none"})`,
            });
          }
        });
      });
    }
  });

export type SecurityPolicy = z.infer<typeof SecurityPolicySchema>;
export type RegistryPolicy = z.infer<typeof RegistryPolicySchema>;
export type ComponentPolicy = z.infer<typeof ComponentPolicySchema>;
export type PolicyKey = z.infer<typeof PolicyKeySchema>;
export type Signing = z.infer<typeof SigningSchema>;

/** `registry_policies[0].allowed_keys[1]` from a zod issue path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(top level)" : out;
}
