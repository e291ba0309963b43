"""Every Bazel-version-specific choice of these rules, in one place.

The rules run on Bazel 4.2.3 (WORKSPACE, no bzlmod) and on Bazel 7/8:
- no `attr.string_keyed_label_dict` on 4.2.3: macros take {name: label} and pass the rule the
  inverted dict as `attr.label_keyed_string_dict` (`invert_label_dict`);
- no `ctx.actions.run(toolchain = ...)` on 4.2.3: toolchain files are listed as `tools`;
- no `RunEnvironmentInfo` on 4.2.3: tests and `bazel run` targets are self-contained scripts;
- `use_default_shell_env = True` replaces `env` on 4.2.3, and it is the only way `--action_env`
  reaches an action: network actions use it, hermetic ones set `env`;
- Bazel 4 prints the whole environment of a failed sandboxed action: actions that receive
  credentials run unsandboxed (`no-sandbox`).
"""

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

def network_action_kwargs(cacheable):
    """ctx.actions.run(_shell) arguments for an action that talks to a registry with credentials.

    Args:
        cacheable: False when the result depends on a moving tag.

    Returns:
        dict of keyword arguments.
    """
    requirements = {"requires-network": "1", "no-sandbox": "1"}
    if not cacheable:
        requirements["no-cache"] = "1"
        requirements["no-remote"] = "1"
    return {"execution_requirements": requirements, "use_default_shell_env": True}

def hermetic_action_kwargs(env):
    """ctx.actions.run(_shell) arguments for a hermetic, sandboxed action.

    Args:
        env: the complete environment of the action.

    Returns:
        dict of keyword arguments.
    """
    return {"env": env}
