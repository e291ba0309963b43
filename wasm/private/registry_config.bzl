"""wkg_registry_config: registry entries as strings -> CLI registry config JSON + wkg config.toml."""

load("//wasm:providers.bzl", "WasmRegistryConfigInfo")
load(":toolchain.bzl", "TOOLCHAIN_TYPE", "run_wasm_oci")
load(":validate.bzl", "is_env_name", "is_host", "looks_like_secret")

_HOWTO = ("name an environment variable instead (e.g. `env|GITHUB_TOKEN`, `token|${GITHUB_TOKEN}`, " +
          "`basic|USER_VAR|PASS_VAR`, `oauth|CLIENT_ID_VAR|CLIENT_SECRET_VAR`), or use `docker` / `helper|NAME`, " +
          "for publishing (`bazel run`) and fetch-time pulls; build-time pulls take only `docker`, `helper|NAME` and `file|PATH`")

_ENV_AUTH = ["env", "basic_env", "oauth2_env"]

def _describe_env_auth(auth):
    return "env " + " / ".join([auth[k] for k in ["token_env", "username_env", "password_env", "client_id_env", "client_secret_env"] if k in auth])

def _redacted(fields, index):
    shown = list(fields)
    shown[index] = "<redacted>"
    return "|".join(shown)

def _env_field(owner, n, fields, index, what):
    """Returns fields[index] as an environment variable name, or fails naming entry and field."""
    if index >= len(fields) or not fields[index]:
        fail("%s: registries[%d] \"%s\": field %d (%s) is missing: %s" % (owner, n, "|".join(fields), index + 1, what, _HOWTO))
    v = fields[index]
    if looks_like_secret(v):
        fail("%s: registries[%d] \"%s\": field %d (%s) looks like a literal secret; never put credentials in BUILD files: %s" % (
            owner,
            n,
            _redacted(fields, index),
            index + 1,
            what,
            _HOWTO,
        ))
    if not is_env_name(v):
        fail("%s: registries[%d] \"%s\": field %d (%s) must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*): %s" % (
            owner,
            n,
            _redacted(fields, index),
            index + 1,
            what,
            _HOWTO,
        ))
    return v

def parse_registry_entry(owner, n, entry):
    """Parses one "name|host|type[|auth...]" entry; fails naming the entry and the field.

    Args:
        owner: "rule //label" for error messages.
        n: index of the entry.
        entry: the entry string.

    Returns:
        (registry dict of the CLI's config, list of environment variable names it reads).
    """
    fields = entry.split("|")
    if len(fields) < 3:
        fail("%s: registries[%d] \"%s\": expected \"name|host|type[|auth...]\" (at least 3 fields separated by |), got %d" % (owner, n, entry, len(fields)))
    name, host, kind = fields[0], fields[1], fields[2]
    if not name or not is_env_name(name.replace("-", "_").replace(".", "_")):
        fail("%s: registries[%d] \"%s\": field 1 (name) must be a simple name (letters, digits, - _ .), got \"%s\"" % (owner, n, entry, name))
    if kind not in ["oci", "oci-layout"]:
        fail("%s: registries[%d] \"%s\": field 3 (type) must be \"oci\" or \"oci-layout\", got \"%s\"" % (owner, n, entry, kind))
    if kind == "oci" and not is_host(host):
        if looks_like_secret(host):
            fail("%s: registries[%d]: field 2 (host) looks like a literal secret: %s" % (owner, n, _HOWTO))
        fail("%s: registries[%d] \"%s\": field 2 (host) must be host[:port] such as ghcr.io or localhost:5000, got \"%s\"" % (owner, n, entry, host))
    if kind == "oci-layout" and not host:
        fail("%s: registries[%d] \"%s\": field 2 (host) of an oci-layout registry is the layout directory and must not be empty" % (owner, n, entry))
    reg = {"name": name, "host": host, "type": kind, "insecure": False, "mirrors": []}
    env = []
    if len(fields) == 3:
        return reg, env
    auth = fields[3]
    rest = len(fields) - 4
    if auth == "none":
        reg["auth"] = {"type": "none"}
        want = 0
    elif auth == "env":
        v = _env_field(owner, n, fields, 4, "token environment variable")
        reg["auth"] = {"type": "env", "token_env": v}
        env.append(v)
        want = 1
    elif auth == "token":
        if len(fields) < 5 or not fields[4]:
            fail("%s: registries[%d] \"%s\": field 5 (token) is missing: write token|${VAR}" % (owner, n, entry))
        raw = fields[4]
        if raw.startswith("${") and raw.endswith("}"):
            v = _env_field(owner, n, fields[:4] + [raw[2:-1]] + fields[5:], 4, "token environment variable in ${...}")
            reg["auth"] = {"type": "env", "token_env": v}
            env.append(v)
        elif raw.startswith("$") and is_env_name(raw[1:]):
            reg["auth"] = {"type": "env", "token_env": raw[1:]}
            env.append(raw[1:])
        else:
            fail("%s: registries[%d] \"%s\": field 5 (token) must be ${VAR}, the environment variable holding the token, not a literal token: %s" % (
                owner,
                n,
                _redacted(fields, 4),
                _HOWTO,
            ))
        want = 1
    elif auth == "basic":
        u = _env_field(owner, n, fields, 4, "username environment variable")
        p = _env_field(owner, n, fields, 5, "password environment variable")
        reg["auth"] = {"type": "basic_env", "username_env": u, "password_env": p}
        env.extend([u, p])
        want = 2
    elif auth == "oauth":
        i = _env_field(owner, n, fields, 4, "client id environment variable")
        s = _env_field(owner, n, fields, 5, "client secret environment variable")
        reg["auth"] = {"type": "oauth2_env", "client_id_env": i, "client_secret_env": s}
        env.extend([i, s])
        want = 2
    elif auth == "file":
        if len(fields) < 5 or not fields[4].startswith("/"):
            fail("%s: registries[%d] \"%s\": field 5 (token file) must be an absolute path such as /var/run/secrets/token" % (owner, n, entry))
        reg["auth"] = {"type": "token_file", "path": fields[4]}
        want = 1
    elif auth == "docker":
        reg["auth"] = {"type": "docker"}
        want = 0
    elif auth == "helper":
        if len(fields) < 5 or not is_env_name(fields[4].replace("-", "_")):
            fail("%s: registries[%d] \"%s\": field 5 (credential helper) must name a docker-credential-<NAME> helper, e.g. helper|ecr-login" % (owner, n, entry))
        reg["auth"] = {"type": "credential_helper", "helper": fields[4]}
        want = 1
    else:
        if looks_like_secret(auth):
            fail("%s: registries[%d] \"%s\": field 4 (auth) looks like a literal secret: %s" % (owner, n, _redacted(fields, 3), _HOWTO))
        fail("%s: registries[%d] \"%s\": field 4 (auth) must be one of none, env, token, basic, oauth, file, docker, helper; got \"%s\"" % (owner, n, entry, auth))
    if rest > want:
        fail("%s: registries[%d] \"%s\": %d field(s) after auth \"%s\", expected %d" % (owner, n, _redacted(fields, len(fields) - 1), rest, auth, want))
    return reg, env

def build_registry_config(owner, registries, default_registry = "", enable_mirror_fallback = True, cache_dir = "", timeout_seconds = 60, insecure = [], mirrors = {}, request_deadline_seconds = 3600):
    """Builds the CLI's registry config; fails at analysis time on any malformed entry.

    Args:
        owner: "rule //label" for error messages.
        registries: entry strings.
        default_registry: name of the default registry or "".
        enable_mirror_fallback: try mirrors when the primary fails.
        cache_dir: blob cache directory or "".
        timeout_seconds: per-request idle timeout.
        insecure: names of plain-HTTP registries.
        mirrors: registry name -> list of mirror hosts.
        request_deadline_seconds: total deadline of one request, whole body included.

    Returns:
        (config dict, list of environment variable names holding credentials).
    """
    if not registries:
        fail("%s: registries must list at least one \"name|host|type[|auth...]\" entry" % owner)
    regs = []
    names = {}
    env = []
    for n, entry in enumerate(registries):
        reg, e = parse_registry_entry(owner, n, entry)
        if reg["name"] in names:
            fail("%s: registries[%d] \"%s\": registry name \"%s\" is already used by registries[%d]" % (owner, n, entry, reg["name"], names[reg["name"]]))
        names[reg["name"]] = n
        if reg["name"] in insecure:
            reg["insecure"] = True
        reg["mirrors"] = list(mirrors.get(reg["name"], []))
        for m in reg["mirrors"]:
            if not is_host(m):
                fail("%s: mirrors[\"%s\"]: \"%s\" must be host[:port]" % (owner, reg["name"], m))
        regs.append(reg)
        env.extend([v for v in e if v not in env])
    for name in insecure:
        if name not in names:
            fail("%s: insecure_registries names \"%s\", which is not in registries (%s)" % (owner, name, ", ".join(names.keys())))
    for name in mirrors:
        if name not in names:
            fail("%s: mirrors names \"%s\", which is not in registries (%s)" % (owner, name, ", ".join(names.keys())))
    if default_registry and default_registry not in names:
        fail("%s: default_registry \"%s\" is not the name of an entry in registries (%s)" % (owner, default_registry, ", ".join(names.keys())))
    if timeout_seconds <= 0:
        fail("%s: timeout_seconds must be positive, got %d" % (owner, timeout_seconds))
    if request_deadline_seconds <= 0:
        fail("%s: request_deadline_seconds must be positive, got %d" % (owner, request_deadline_seconds))
    config = {
        "registries": regs,
        "timeout_seconds": timeout_seconds,
        "request_deadline_seconds": request_deadline_seconds,
        "retry": {"max_attempts": 4, "max_elapsed_seconds": timeout_seconds * 2},
        "enable_mirror_fallback": enable_mirror_fallback,
    }
    if default_registry:
        config["default_registry"] = default_registry
    if cache_dir:
        config["cache_dir"] = cache_dir
    return config, env

def _wkg_registry_config_impl(ctx):
    owner = "wkg_registry_config %s" % ctx.label
    config, env = build_registry_config(
        owner,
        ctx.attr.registries,
        default_registry = ctx.attr.default_registry,
        enable_mirror_fallback = ctx.attr.enable_mirror_fallback,
        cache_dir = ctx.attr.cache_dir,
        timeout_seconds = ctx.attr.timeout_seconds,
        insecure = ctx.attr.insecure_registries,
        mirrors = {k: v.split(",") for k, v in ctx.attr.mirrors.items()},
        request_deadline_seconds = ctx.attr.request_deadline_seconds,
    )
    out = ctx.actions.declare_file(ctx.label.name + ".registry.json")
    ctx.actions.write(out, json.encode_indent(config, indent = "  ") + "\n")
    toml = ctx.actions.declare_file(ctx.label.name + ".config.toml")
    args = ctx.actions.args()
    args.add_all(["config", "wkg", "--registry-config", out, "-o", toml])
    run_wasm_oci(
        ctx,
        arguments = [args],
        inputs = [out],
        outputs = [toml],
        mnemonic = "WasmOciWkgConfig",
        progress_message = "Writing wkg config.toml for %s" % ctx.label,
    )
    return [
        DefaultInfo(files = depset([out, toml])),
        OutputGroupInfo(registry_config = depset([out]), wkg_config = depset([toml])),
        WasmRegistryConfigInfo(
            config = out,
            wkg_config = toml,
            registries = {r["name"]: r["host"] for r in config["registries"]},
            default_registry = ctx.attr.default_registry,
            cache_dir = ctx.attr.cache_dir,
            env_vars = env,
            env_auth = {r["name"]: _describe_env_auth(r["auth"]) for r in config["registries"] if r.get("auth", {}).get("type", "") in _ENV_AUTH},
        ),
    ]

wkg_registry_config = rule(
    implementation = _wkg_registry_config_impl,
    doc = "Registry configuration: the CLI's registry config JSON and a wkg config.toml, both free of secrets.",
    attrs = {
        "registries": attr.string_list(mandatory = True, doc = "Entries \"name|host|type[|auth...]\"; see docs/rules.md."),
        "default_registry": attr.string(doc = "Name of the registry used for references without a host."),
        "enable_mirror_fallback": attr.bool(default = True, doc = "Try mirrors when the primary registry fails."),
        "cache_dir": attr.string(doc = "Blob cache directory for pulls (outside the sandbox only; leave empty in builds)."),
        "timeout_seconds": attr.int(default = 60, doc = "Per-request idle timeout: connecting, waiting for headers, each pause in a body."),
        "request_deadline_seconds": attr.int(default = 3600, doc = "Total deadline of one request, its whole body included."),
        "insecure_registries": attr.string_list(doc = "Names of registries reached over plain HTTP (loopback hosts always are)."),
        "mirrors": attr.string_dict(doc = "Registry name -> comma-separated mirror hosts, tried in order."),
    },
    toolchains = [TOOLCHAIN_TYPE],
)
