"""wasm_security_policy: writes the policy JSON that `wasm-oci policy check` (and pull/compose/push --policy) enforce."""

load("//wasm:providers.bzl", "WasmKeyPairInfo", "WasmSecurityPolicyInfo")
load(":compat.bzl", "invert_label_dict")
load(":validate.bzl", "looks_like_secret")

_SIGNING = ["required", "optional"]

def public_key_file(target, owner, what):
    """The public key File of a wasm_keygen target or of a single-file target.

    Args:
        target: the key target.
        owner: "rule //label" for messages.
        what: attribute description for messages.

    Returns:
        The public key File.
    """
    if WasmKeyPairInfo in target:
        return target[WasmKeyPairInfo].public_key
    files = target[DefaultInfo].files.to_list()
    if len(files) != 1:
        fail("%s: %s %s must be a wasm_keygen target or a single public key file, got %d files" % (owner, what, target.label, len(files)))
    return files[0]

def _parse_rule(owner, attr, n, entry, key_names):
    fields = entry.split("|")
    if len(fields) < 2 or len(fields) > 3 or not fields[0]:
        fail("%s: %s[%d] \"%s\": expected \"pattern|required|key1,key2\" or \"pattern|optional\"" % (owner, attr, n, entry))
    if fields[1] not in _SIGNING:
        fail("%s: %s[%d] \"%s\": field 2 (signing) must be \"required\" or \"optional\", got \"%s\"" % (owner, attr, n, entry, fields[1]))
    allowed = [k for k in fields[2].split(",") if k] if len(fields) == 3 else []
    for k in allowed:
        if k not in key_names:
            fail("%s: %s[%d] \"%s\": key \"%s\" is not in keys (%s)" % (owner, attr, n, entry, k, ", ".join(sorted(key_names)) or "none"))
    if fields[1] == "required" and not allowed and not key_names:
        fail("%s: %s[%d] \"%s\": signing is required but the policy has no keys to verify with" % (owner, attr, n, entry))
    return fields[0], fields[1], allowed

def _policy_entry(kind, pattern, signing, allowed):
    entry = {kind: pattern, "signing": signing}
    if allowed:
        # An absent list means "any key of the policy"; the CLI rejects an empty one.
        entry["allowed_keys"] = allowed
    return entry

def _wasm_security_policy_impl(ctx):
    owner = "wasm_security_policy %s" % ctx.label
    if ctx.attr.signature_type not in ["embedded", "detached"]:
        fail("%s: signature_type must be \"embedded\" or \"detached\", got \"%s\"" % (owner, ctx.attr.signature_type))
    out = ctx.actions.declare_file(ctx.label.name + ".policy.json")

    # The CLI resolves key paths relative to the policy file: climb from its directory to the
    # execution root, where every input's path starts.
    to_root = "../" * len(out.dirname.split("/"))
    keys = {}
    key_files = []
    for target, name in ctx.attr.key_labels.items():
        if looks_like_secret(name):
            fail("%s: keys: \"%s\" does not look like a key name" % (owner, name))
        f = public_key_file(target, owner, "keys[\"%s\"]" % name)
        openssh = target[WasmKeyPairInfo].openssh_format if WasmKeyPairInfo in target else ctx.attr.openssh_format
        keys[name] = {"public_key": to_root + f.path, "format": "openssh" if openssh else "compact"}
        key_files.append(f)
    registry_policies = []
    for n, e in enumerate(ctx.attr.registry_policies):
        pattern, signing, allowed = _parse_rule(owner, "registry_policies", n, e, keys)
        registry_policies.append(_policy_entry("registry", pattern, signing, allowed))
    component_policies = []
    for n, e in enumerate(ctx.attr.component_policies):
        pattern, signing, allowed = _parse_rule(owner, "component_policies", n, e, keys)
        component_policies.append(_policy_entry("component", pattern, signing, allowed))
    if ctx.attr.default_signing_required and not keys:
        fail("%s: default_signing_required = True needs at least one entry in keys" % owner)
    policy = {
        "default_signing_required": ctx.attr.default_signing_required,
        "signature_type": ctx.attr.signature_type,
        "openssh_format": ctx.attr.openssh_format,
        "registry_policies": registry_policies,
        "component_policies": component_policies,
        "keys": keys,
    }
    ctx.actions.write(out, json.encode_indent(policy, indent = "  ") + "\n")
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out] + key_files)),
        WasmSecurityPolicyInfo(
            policy = out,
            keys = depset(key_files),
            default_signing_required = ctx.attr.default_signing_required,
            signature_type = ctx.attr.signature_type,
        ),
    ]

wasm_security_policy_rule = rule(
    implementation = _wasm_security_policy_impl,
    doc = "Writes a security policy JSON. Use the wasm_security_policy macro (it takes keys as a dict name -> label).",
    attrs = {
        "default_signing_required": attr.bool(default = False),
        "signature_type": attr.string(default = "embedded"),
        "openssh_format": attr.bool(default = False),
        "key_source": attr.string(default = "file", values = ["file", "keygen", "env"], doc = "Informational: where the keys come from."),
        "registry_policies": attr.string_list(),
        "component_policies": attr.string_list(),
        "key_labels": attr.label_keyed_string_dict(allow_files = True, doc = "Public key target -> key name (inverted `keys`)."),
    },
)

def wasm_security_policy(name, keys = {}, **kwargs):
    """Writes a security policy JSON.

    Args:
        name: target name.
        keys: dict key name -> wasm_keygen target or public key file.
        **kwargs: attributes of wasm_security_policy_rule (see docs/rules.md).
    """
    inverted = invert_label_dict("wasm_security_policy keys", name, keys)
    wasm_security_policy_rule(name = name, key_labels = inverted, **kwargs)
