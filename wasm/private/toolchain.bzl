"""The wasm-oci toolchain and the helpers every rule uses to run the CLI.

One action mechanism on every Bazel version: every action runs

    node <execroot-relative path of tools/dist/wasm-oci.mjs> <arguments>

in the execroot, with execroot-relative paths and no change of directory. The bundle and the
files it loads at run time (tools/dist/**: jco-transpile, the WASI shim) are the toolchain's
files, declared as `tools` of every action, so nothing outside the declared inputs is read. Only
where `node` comes from differs:
- bzlmod (Bazel 7, 8, 9): the rules_nodejs node toolchain
  (`@rules_nodejs//nodejs:toolchain_type`), resolved for the execution platform of the action
  (the toolchain below is itself resolved with that platform, and resolves the node toolchain in
  turn); users pick the Node.js version with rules_nodejs's `node.toolchain()`;
- WORKSPACE (Bazel 4.2.3 and later): `node` is given explicitly, by the repository rule of
  wasm/repositories.bzl that finds the machine's node.

The `ToolchainInfo` of `wasm_oci_toolchain` has these fields (rule files use them through
`run_wasm_oci`, `write_launcher` and `launcher_command`; read them directly only for an action
those cannot express):
- `executable`: File, the node binary the actions run.
- `node`: the same File.
- `cli`: File, tools/dist/wasm-oci.mjs.
- `tools`: list of Files every action declares as tools (node and its files, the bundle and its
  assets).
- `args_prefix`: list of strings put before the CLI's arguments (`[cli.path]`).
- `env`: dict of environment variables the CLI needs in actions (empty today; merged into the
  hermetic environment and passed to network actions).
- `launch`: list of runfiles paths (`<repository>/<path>`, as `rlocation` takes them) of node and
  the CLI, for scripts run by `bazel run` and `bazel test`.
- `runfiles`: runfiles holding node, the CLI and its assets.
- `toolchain_type`: the toolchain type string to pass as `toolchain =` to actions (Bazel 7+).
- `label`: the toolchain target.
"""

load(":compat.bzl", "action_toolchain_kwargs", "hermetic_action_kwargs", "network_action_kwargs", "node_toolchain_requirements", "node_toolchain_type")

# Resolved here, against this file's own repository: a literal "@rules_wasm_oci//..." string is
# resolved against the repository of the target using the rule, which fails when these rules are
# the main repository. Bazel 4.2.3 takes only strings in rule(toolchains = ...), hence str().
TOOLCHAIN_TYPE = str(Label("//wasm:toolchain_type"))

_NODE_TOOLCHAIN_TYPE = node_toolchain_type()

def _node_from_toolchain(ctx):
    """The node File of the resolved rules_nodejs toolchain, or None."""
    if _NODE_TOOLCHAIN_TYPE == None:
        return None
    tc = ctx.toolchains[_NODE_TOOLCHAIN_TYPE]
    if tc == None:
        return None
    info = tc.nodeinfo
    node = getattr(info, "node", None)
    if node == None:
        files = getattr(info, "tool_files", None) or []
        node = files[0] if files else None
    if node == None:
        fail("wasm_oci_toolchain %s: the resolved rules_nodejs toolchain has no node binary (node_path %s is outside the build); register a downloaded node (rules_nodejs node.toolchain()) or set node on this toolchain" % (ctx.label, getattr(info, "node_path", "")))
    return node

def runfiles_path(ctx, f):
    """The path of File `f` under a runfiles tree, as `rlocation` takes it: `<repository>/<path>`.

    Args:
        ctx: rule context.
        f: a File in the runfiles.

    Returns:
        string.
    """
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path

def _wasm_oci_toolchain_impl(ctx):
    cli = None
    for f in ctx.files.bundle:
        if f.basename == "wasm-oci.mjs" and f.dirname.endswith("dist"):
            cli = f
    if cli == None:
        fail("wasm_oci_toolchain %s: bundle has no dist/wasm-oci.mjs; build it with `pnpm install && pnpm build` in the rules_wasm_oci checkout (a release archive ships it)" % ctx.label)
    node = ctx.file.node or _node_from_toolchain(ctx)
    if node == None:
        fail("wasm_oci_toolchain %s: no node: set node, or (bzlmod) depend on rules_nodejs so that its node toolchain resolves for the execution platform" % ctx.label)
    tools = [node] + ctx.files.bundle
    return [platform_common.ToolchainInfo(
        executable = node,
        node = node,
        cli = cli,
        tools = tools,
        args_prefix = [cli.path],
        env = {},
        launch = [runfiles_path(ctx, node), runfiles_path(ctx, cli)],
        runfiles = ctx.runfiles(files = tools),
        toolchain_type = TOOLCHAIN_TYPE,
        label = ctx.label,
    )]

wasm_oci_toolchain = rule(
    implementation = _wasm_oci_toolchain_impl,
    doc = """Declares how to run the wasm-oci CLI: `node` runs the prebuilt bundle.

Register it with `toolchain(toolchain_type = "@rules_wasm_oci//wasm:toolchain_type")`. Under bzlmod,
leave `node` unset to use the rules_nodejs node toolchain of the execution platform.""",
    attrs = {
        "bundle": attr.label(
            mandatory = True,
            allow_files = True,
            cfg = "exec",
            doc = "The prebuilt CLI and its assets: a filegroup of tools/dist/** holding dist/wasm-oci.mjs (`@rules_wasm_oci//tools:bundle`).",
        ),
        "node": attr.label(
            allow_single_file = True,
            executable = True,
            cfg = "exec",
            doc = "The node binary. Default (bzlmod): the rules_nodejs node toolchain resolved for the execution platform.",
        ),
    },
    toolchains = node_toolchain_requirements(),
)

def wasm_oci_tool(ctx):
    return ctx.toolchains[TOOLCHAIN_TYPE]

# Fixed values so that outputs do not depend on the machine or the clock.
HERMETIC_ENV = {
    "SOURCE_DATE_EPOCH": "0",
    "TZ": "UTC",
    "LC_ALL": "C",
    "WASM_OCI_LOG": "warn",
}

# Hermetic actions run in the CLI's persistent worker (`wasm-oci --persistent_worker`, Bazel's JSON
# worker protocol): one warm node process per mnemonic instead of one start-up per action. Every
# request is isolated (its own output, log level and secrets; see tools/src/worker/), so requests
# may interleave in one process (multiplex). Users turn it off per mnemonic with
# `--strategy=<Mnemonic>=sandboxed` (docs/rules.md). Bazel before 6 needs
# `--experimental_worker_allow_json_protocol` for JSON workers.
WORKER_REQUIREMENTS = {
    "supports-workers": "1",
    "supports-multiplex-workers": "1",
    "requires-worker-protocol": "json",
}

def wasm_oci_action_kwargs(ctx, network = False, cacheable = True):
    """ctx.actions.run(_shell) keyword arguments for an action that runs the CLI.

    For actions a rule builds itself (a shell wrapper around the CLI): the environment, the
    execution requirements and, where Bazel supports it, `toolchain =`. `run_wasm_oci` uses it.

    Args:
        ctx: rule context.
        network: the action talks to a registry.
        cacheable: False for tag-only pulls (the tag may move).

    Returns:
        dict of keyword arguments.
    """
    tc = wasm_oci_tool(ctx)
    if network:
        kwargs = network_action_kwargs(ctx, cacheable, dict(HERMETIC_ENV, **tc.env))
    else:
        env = dict(HERMETIC_ENV)
        env.update(tc.env)
        kwargs = hermetic_action_kwargs(env)
    kwargs.update(action_toolchain_kwargs(TOOLCHAIN_TYPE))
    return kwargs

def run_wasm_oci(ctx, arguments, inputs, outputs, mnemonic, progress_message, network = False, cacheable = True, stdout = None, copy = None, exit_code = None):
    """Runs `node wasm-oci.mjs <arguments>` as an action, in the execroot.

    Hermetic actions get a fixed environment and run in the persistent worker (sandboxed when
    the worker strategy is turned off). Network actions (pulls) are tagged `requires-network` and
    `no-remote-exec`, and get the same fixed environment plus the location variables of
    compat.PULL_LOCATION_ENV: credentials only ever come from files and helpers the CLI reads
    while it runs (Docker config, credential helpers, token files), never from arguments, files,
    providers or the environment; they never run in the worker.

    Args:
        ctx: rule context.
        arguments: a list holding one ctx.actions.args() object: the command line after the CLI
            (it gets the action options and becomes the action's param file).
        inputs: list or depset of input files.
        outputs: output files (including `stdout` and the copy target).
        mnemonic: action mnemonic.
        progress_message: progress message (names the rule, shown when the action fails).
        network: the action talks to a registry.
        cacheable: False for tag-only pulls (the tag may move).
        stdout: File to write the command's stdout to (only when it succeeds).
        copy: (src, dst) Files: copy src to dst after the command succeeded, so that dst exists
            only when the check the command performs passed.
        exit_code: File: for a command whose exit code 1 is a verdict (`policy check`), write
            its exit code here; 0 and 1 then both succeed (and `stdout` is written for both).
    """
    tc = wasm_oci_tool(ctx)
    if len(arguments) != 1 or type(arguments[0]) != "Args":
        fail("run_wasm_oci (%s): arguments must be one ctx.actions.args() object, got %s" % (mnemonic, arguments))

    # Everything after the CLI goes into one param file: a worker's start-up command line must be
    # the same for all actions of a mnemonic, and each request carries the file's lines. The
    # action options (tools/src/cli/action.ts) go last, where the CLI also takes them.
    args = arguments[0]
    if stdout:
        args.add("--stdout-file", stdout)
    if copy:
        args.add_all("--copy-on-success", [copy[0], copy[1]])
    if exit_code:
        args.add("--exit-code-file", exit_code)
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    kwargs = wasm_oci_action_kwargs(ctx, network = network, cacheable = cacheable)
    if not network:
        requirements = dict(kwargs.get("execution_requirements", {}))
        requirements.update(WORKER_REQUIREMENTS)
        kwargs["execution_requirements"] = requirements
    ctx.actions.run(
        executable = tc.executable,
        tools = tc.tools,
        arguments = tc.args_prefix + [args],
        inputs = inputs,
        outputs = outputs,
        mnemonic = mnemonic,
        progress_message = progress_message,
        **kwargs
    )

def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

# Finds the runfiles tree of the script (`bazel run`, `bazel test`, or a script started by hand
# from bazel-bin) as $R, whatever repository the target and the toolchain live in, and changes
# into the main repository's folder of it when it has one, so that short paths of the main
# repository resolve as they do for `bazel run`.
RUNFILES_PROLOGUE = """\
if [ -n "${{RUNFILES_DIR:-}}" ] && [ -d "$RUNFILES_DIR" ]; then
  R="$RUNFILES_DIR"
elif [ -n "${{TEST_SRCDIR:-}}" ] && [ -d "$TEST_SRCDIR" ]; then
  R="$TEST_SRCDIR"
elif [ -d "$0.runfiles" ]; then
  R="$0.runfiles"
else
  case "$PWD" in
    *.runfiles/*) R="${{PWD%.runfiles/*}}.runfiles" ;;
    *.runfiles) R="$PWD" ;;
    *) echo "{label}: cannot find the runfiles of $0 (set RUNFILES_DIR)" >&2; exit 2 ;;
  esac
fi
case "$R" in /*) ;; *) R="$PWD/$R" ;; esac
if [ -d "$R/{ws}" ]; then cd "$R/{ws}"; fi
"""

def runfiles_prologue(ctx):
    """The shell text that sets $R to the runfiles root (see RUNFILES_PROLOGUE).

    Args:
        ctx: rule context.

    Returns:
        string.
    """
    return RUNFILES_PROLOGUE.format(label = str(ctx.label), ws = ctx.workspace_name)

def launcher_command(ctx):
    """Shell words that start the CLI from a script whose prologue set $R.

    Args:
        ctx: rule context.

    Returns:
        string, e.g. `"$R"/'nodejs_linux_amd64/bin/nodejs/bin/node' "$R"/'_main/tools/dist/wasm-oci.mjs'`.
    """
    return " ".join(['"$R"/' + shell_quote(p) for p in wasm_oci_tool(ctx).launch])

def write_launcher(ctx, output, argv, extra_runfiles = []):
    """Writes an executable shell script that runs `wasm-oci argv... "$@"` from runfiles.

    Args:
        ctx: rule context.
        output: the script File.
        argv: arguments: a File becomes its path in the runfiles (found wherever the runfiles
            are), a string is passed as it is.
        extra_runfiles: Files the arguments name.

    Returns:
        The runfiles the script needs.
    """
    tc = wasm_oci_tool(ctx)
    words = []
    for a in argv:
        if type(a) == "string":
            words.append(shell_quote(a))
        else:
            words.append('"$R"/' + shell_quote(runfiles_path(ctx, a)))
    script = """#!/bin/sh
# Generated by rules_wasm_oci for {label}.
set -eu
{prologue}exec {launch} {argv} "$@"
""".format(
        label = str(ctx.label),
        prologue = runfiles_prologue(ctx),
        launch = launcher_command(ctx),
        argv = " ".join(words),
    )
    ctx.actions.write(output = output, content = script, is_executable = True)
    return tc.runfiles.merge(ctx.runfiles(files = extra_runfiles))
