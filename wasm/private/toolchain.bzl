"""The wasm-oci toolchain and the helpers every rule uses to run the CLI.

Two ways to provide the CLI, one provider shape:
- `cli` + `node`: the esbuild bundle (tools/dist/wasm-oci.mjs) run by a node binary. Used by
  the legacy WORKSPACE setup (Bazel 4.2.3 and later), where a repository rule finds node.
- `wasm_oci`: an executable target (the rules_js `js_binary` of tools/BUILD.bazel, bzlmod).
"""

load(":compat.bzl", "hermetic_action_kwargs", "network_action_kwargs")

# Resolved here, against this file's own repository: a literal "@rules_wasm_oci//..." string is
# resolved against the repository of the target using the rule, which fails when these rules are
# the main repository. Bazel 4.2.3 takes only strings in rule(toolchains = ...), hence str().
TOOLCHAIN_TYPE = str(Label("//wasm:toolchain_type"))

def _wasm_oci_toolchain_impl(ctx):
    if ctx.attr.wasm_oci and (ctx.attr.cli or ctx.attr.node):
        fail("wasm_oci_toolchain %s: set either wasm_oci, or cli and node, not both" % ctx.label)
    if ctx.attr.wasm_oci:
        exe = ctx.executable.wasm_oci
        files_to_run = ctx.attr.wasm_oci[DefaultInfo].files_to_run
        runfiles = ctx.attr.wasm_oci[DefaultInfo].default_runfiles
        return [platform_common.ToolchainInfo(
            executable = exe,
            tools = [files_to_run],
            args_prefix = [],
            # rules_js binaries find their runfiles relative to BAZEL_BINDIR inside actions.
            env = {"BAZEL_BINDIR": ctx.bin_dir.path},
            launch = [exe.short_path],
            runfiles = runfiles,
            label = ctx.label,
        )]
    if not ctx.attr.cli or not ctx.attr.node:
        fail("wasm_oci_toolchain %s: needs wasm_oci, or both cli and node" % ctx.label)
    node = ctx.file.node
    cli = ctx.file.cli
    return [platform_common.ToolchainInfo(
        executable = node,
        tools = [cli],
        args_prefix = [cli.path],
        env = {},
        launch = [node.short_path, cli.short_path],
        runfiles = ctx.runfiles(files = [node, cli]),
        label = ctx.label,
    )]

wasm_oci_toolchain = rule(
    implementation = _wasm_oci_toolchain_impl,
    doc = "Declares how to run the wasm-oci CLI. Register it with `toolchain(toolchain_type = \"@rules_wasm_oci//wasm:toolchain_type\")`.",
    attrs = {
        "cli": attr.label(
            allow_single_file = [".mjs", ".js"],
            cfg = "exec",
            doc = "The bundled CLI (tools/dist/wasm-oci.mjs), run with `node`.",
        ),
        "node": attr.label(
            allow_single_file = True,
            executable = True,
            cfg = "exec",
            doc = "The node binary that runs `cli`.",
        ),
        "wasm_oci": attr.label(
            executable = True,
            cfg = "exec",
            doc = "An executable wasm-oci (for example a rules_js js_binary). Exclusive with cli/node.",
        ),
    },
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

def run_wasm_oci(ctx, arguments, inputs, outputs, mnemonic, progress_message, network = False, cacheable = True, stdout = None, copy = None):
    """Runs `wasm-oci <arguments>` as an action.

    Hermetic actions get a fixed environment and run sandboxed. Network actions (pulls) are
    tagged `requires-network` and get the user's `--action_env` variables, which is the only
    way credentials reach them: never through arguments, files or providers.

    Args:
        ctx: rule context.
        arguments: list of Args objects or strings, after the CLI itself.
        inputs: list or depset of input files.
        outputs: output files (including `stdout` and the copy target).
        mnemonic: action mnemonic.
        progress_message: progress message (names the rule, shown when the action fails).
        network: the action talks to a registry.
        cacheable: False for tag-only pulls (the tag may move).
        stdout: File to write the command's stdout to.
        copy: (src, dst) Files: copy src to dst after the command succeeded, so that dst exists
            only when the check the command performs passed.
    """
    tc = wasm_oci_tool(ctx)
    args = ctx.actions.args()
    args.add_all(tc.args_prefix)
    if network:
        kwargs = network_action_kwargs(cacheable)
    else:
        env = dict(HERMETIC_ENV)
        env.update(tc.env)
        kwargs = hermetic_action_kwargs(env)
    if stdout == None and copy == None:
        ctx.actions.run(
            executable = tc.executable,
            tools = tc.tools,
            arguments = [args] + arguments,
            inputs = inputs,
            outputs = outputs,
            mnemonic = mnemonic,
            progress_message = progress_message,
            **kwargs
        )
        return
    pre = ctx.actions.args()
    pre.add(stdout.path if stdout else "/dev/stdout")
    pre.add(copy[0].path if copy else "")
    pre.add(copy[1].path if copy else "")
    pre.add(tc.executable.path)
    ctx.actions.run_shell(
        command = 'out="$1"; src="$2"; dst="$3"; shift 3; "$@" > "$out" || exit $?; if [ -n "$dst" ]; then cp "$src" "$dst"; chmod u+w "$dst"; fi',
        tools = tc.tools + [tc.executable],
        arguments = [pre, args] + arguments,
        inputs = inputs,
        outputs = outputs,
        mnemonic = mnemonic,
        progress_message = progress_message,
        **kwargs
    )

def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def write_launcher(ctx, output, argv, extra_runfiles = []):
    """Writes an executable shell script that runs `wasm-oci argv... "$@"` from runfiles.

    Args:
        ctx: rule context.
        output: the script File.
        argv: literal arguments (runfiles-relative paths already resolved by the caller).
        extra_runfiles: Files the arguments name.

    Returns:
        The runfiles the script needs.
    """
    tc = wasm_oci_tool(ctx)
    launch = " ".join([shell_quote(p) for p in tc.launch])
    script = """#!/bin/sh
# Generated by rules_wasm_oci for {label}.
set -eu
if [ -n "${{RUNFILES_DIR:-}}" ] && [ -d "$RUNFILES_DIR/{ws}" ]; then
  cd "$RUNFILES_DIR/{ws}"
elif [ -d "$0.runfiles/{ws}" ]; then
  cd "$0.runfiles/{ws}"
fi
exec {launch} {argv} "$@"
""".format(
        label = str(ctx.label),
        ws = ctx.workspace_name,
        launch = launch,
        argv = " ".join([shell_quote(a) for a in argv]),
    )
    ctx.actions.write(output = output, content = script, is_executable = True)
    return tc.runfiles.merge(ctx.runfiles(files = extra_runfiles))
