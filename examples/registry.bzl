"""Where the examples' registry runs: localhost:5000 unless --//examples:registry=HOST:PORT says otherwise.

The example BUILD files reference localhost:5000, as users expect. Tests and `pnpm demo` run the
registry on another port and pass `--//examples:registry=127.0.0.1:PORT`: each example's
`:registries` alias then selects a config whose registry `local` (localhost:5000) has that registry
as a mirror, so pulls of localhost:5000/... are served by it when nothing answers on port 5000, and
a config for publishing in which every registry name of the examples is that registry.
"""

load("@rules_wasm_oci//wasm:providers.bzl", "WasmRegistryConfigInfo")

RegistryFlagInfo = provider(
    doc = "The value of --//examples:registry.",
    fields = {"host": "string: host:port, or \"\" for the default localhost:5000."},
)

def _registry_flag_impl(ctx):
    host = ctx.build_setting_value
    if host:
        parts = host.split(":")
        if len(parts) != 2 or not parts[0] or not parts[1].isdigit():
            fail("--%s=%s: expected HOST:PORT, e.g. 127.0.0.1:5123" % (ctx.label, host))
    return [RegistryFlagInfo(host = host)]

registry_flag = rule(
    implementation = _registry_flag_impl,
    build_setting = config.string(flag = True),
    doc = "A string flag naming the registry the examples use instead of localhost:5000.",
)

def _other_loopback_spelling(host):
    if host.startswith("127.0.0.1"):
        return host.replace("127.0.0.1", "localhost", 1)
    return host.replace("localhost", "127.0.0.1", 1)

def _override_registry_config_impl(ctx):
    host = ctx.attr.registry_flag[RegistryFlagInfo].host
    names = ctx.attr.registry_names
    registries = []
    if ctx.attr.mode == "mirror":
        if len(names) != 1:
            fail("%s: mirror mode serves one registry name (a config lists localhost:5000 once)" % ctx.label)

        # Each name keeps its host (localhost:5000, as the BUILD files say); the flag's registry
        # serves it as a mirror.
        for name in names:
            registries.append({"name": name, "host": "localhost:5000", "type": "oci", "insecure": True, "mirrors": [host] if host else []})
    else:
        # Names point at the flag's registry. A config lists each host once, so a second name gets
        # the other loopback spelling of the same address.
        if len(names) > 2:
            fail("%s: direct mode serves at most two registry names (two spellings of one address)" % ctx.label)
        target = host or "localhost:5000"
        if len(names) == 2 and _other_loopback_spelling(target) == target:
            fail("%s: --//examples:registry=%s: with two registry names the registry must be on 127.0.0.1 or localhost" % (ctx.label, target))
        for i, name in enumerate(names):
            registries.append({"name": name, "host": target if i == 0 else _other_loopback_spelling(target), "type": "oci", "insecure": True, "mirrors": []})
    config = {
        "registries": registries,
        "default_registry": names[0],
        "timeout_seconds": 30,
        "retry": {"max_attempts": 2, "max_elapsed_seconds": 30},
        "enable_mirror_fallback": True,
    }
    out = ctx.actions.declare_file(ctx.label.name + ".registry.json")
    ctx.actions.write(out, json.encode_indent(config, indent = "  ") + "\n")
    toml = ctx.actions.declare_file(ctx.label.name + ".config.toml")
    ctx.actions.write(toml, "# Example registry override: no wkg settings (and never credentials).\n")
    return [
        DefaultInfo(files = depset([out, toml])),
        WasmRegistryConfigInfo(
            config = out,
            wkg_config = toml,
            registries = {r["name"]: r["host"] for r in registries},
            default_registry = names[0],
            cache_dir = "",
            env_vars = [],
            env_auth = {},
        ),
    ]

override_registry_config = rule(
    implementation = _override_registry_config_impl,
    doc = "The registry config the examples use when --//examples:registry is set.",
    attrs = {
        "mode": attr.string(mandatory = True, values = ["mirror", "direct"]),
        "registry_names": attr.string_list(mandatory = True, doc = "Registry names of the examples; the first is the default."),
        "registry_flag": attr.label(default = "//examples:registry", providers = [RegistryFlagInfo]),
    },
)
