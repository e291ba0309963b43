"""Every Bazel-version-specific choice of these rules, in one place.

The rules run on Bazel 8 and 9 with bzlmod (MODULE.bazel; Bazel 7.4+ works too) and on Bazel
4.2.3 and later with a WORKSPACE:
- `BZLMOD`: bzlmod is on when labels print in canonical form (`@@repo//...`); every bzlmod
  Bazel these rules accept (MODULE.bazel `bazel_compatibility`) has what is gated on it;
- the node binary: under bzlmod the rules_nodejs node toolchain (`node_toolchain_type`), with a
  WORKSPACE a `node` given to the toolchain by wasm/repositories.bzl;
- `ctx.actions.run(toolchain = ...)` (automatic execution groups): passed under bzlmod
  (`action_toolchain_kwargs`); Bazel 4.2.3 does not have the parameter, and the toolchain's files
  are `tools` of every action either way;
- no `attr.string_keyed_label_dict` on 4.2.3: macros take {name: label} and pass the rule the
  inverted dict as `attr.label_keyed_string_dict` (`invert_label_dict`);
- no `RunEnvironmentInfo` on 4.2.3: tests and `bazel run` targets are self-contained scripts;
- no action of these rules uses `use_default_shell_env = True` (4.2.3 ignores `env` then, later
  versions merge them): every `--action_env` value would become part of the action's Command,
  which Bazel records in --disk_cache, --remote_cache and --execution_log_json_file. Pull actions
  copy only the location variables of PULL_LOCATION_ENV from `ctx.configuration.default_shell_env`
  (on 4.2.3 it holds only variables given with a value).
"""

# Where the CLI finds Docker config files and credential helpers at execution time: locations,
# never secrets. Any other --action_env variable never reaches a pull action.
PULL_LOCATION_ENV = ["PATH", "HOME", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"]

BZLMOD = str(Label("//:invalid")).startswith("@@")

def node_toolchain_type():
    """The rules_nodejs node toolchain type under bzlmod, else None (node is an attribute there).

    Returns:
        Label or None: `@rules_nodejs//nodejs:toolchain_type`, whose toolchains rules_nodejs
        registers with `exec_compatible_with` their platform.
    """
    if not BZLMOD:
        return None
    return Label("@rules_nodejs//nodejs:toolchain_type")

def node_toolchain_requirements():
    """The `toolchains` entry of a rule that takes node from rules_nodejs when no node is given.

    Returns:
        list: empty with a WORKSPACE; under bzlmod the optional node toolchain type.
    """
    t = node_toolchain_type()
    if t == None:
        return []
    return [config_common.toolchain_type(t, mandatory = False)]

def action_toolchain_kwargs(toolchain_type):
    """`toolchain = ` for ctx.actions.run(_shell) where Bazel has the parameter.

    Args:
        toolchain_type: the toolchain type whose executable and tools the action uses.

    Returns:
        dict of keyword arguments.
    """
    if BZLMOD:
        return {"toolchain": toolchain_type}
    return {}

def invert_label_dict(what, name, d):
    """Turns {key: label} into {label: key} for an `attr.label_keyed_string_dict`.

    Args:
        what: "macro attribute" for messages.
        name: target name for messages.
        d: dict key -> label string.

    Returns:
        dict label -> key.
    """
    inverted = {}
    for key, label in d.items():
        if label in inverted:
            fail("%s of %s: \"%s\" and \"%s\" name the same target %s; give each its own target" % (what, name, inverted[label], key, label))
        inverted[label] = key
    return inverted

def network_action_kwargs(ctx, cacheable, env):
    """ctx.actions.run(_shell) arguments for an action that talks to a registry.

    The action reads credentials at execution time from files and helpers only (Docker config,
    credential helpers, token files): its environment is `env` plus the location variables of
    PULL_LOCATION_ENV given with --action_env, so no credential value is part of its key.

    Args:
        ctx: rule context.
        cacheable: False when the result depends on a moving tag.
        env: the fixed environment of the action.

    Returns:
        dict of keyword arguments.
    """
    full = dict(env)
    shell = ctx.configuration.default_shell_env
    for name in PULL_LOCATION_ENV:
        if name in shell:
            full[name] = shell[name]

    # Unsandboxed: credential helpers may write their own caches under $HOME. Never executed
    # remotely (a remote worker has neither the network nor the user's Docker config); the
    # result of a digest-pinned pull may come from a cache.
    requirements = {"requires-network": "1", "no-sandbox": "1", "no-remote-exec": "1"}
    if not cacheable:
        requirements["no-cache"] = "1"
        requirements["no-remote"] = "1"
    return {"execution_requirements": requirements, "env": full}

def hermetic_action_kwargs(env):
    """ctx.actions.run(_shell) arguments for a hermetic, sandboxed action.

    Args:
        env: the complete environment of the action.

    Returns:
        dict of keyword arguments.
    """
    return {"env": env}
