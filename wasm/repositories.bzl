"""Legacy WORKSPACE setup (Bazel 4.2.3 and later without bzlmod).

    load("@rules_wasm_oci//wasm:repositories.bzl", "wasm_oci_register_toolchains")
    wasm_oci_register_toolchains()

creates `@wasm_oci_toolchains`, whose toolchain runs the prebuilt CLI of this module
(`@rules_wasm_oci//tools:bundle`: tools/dist, made by `pnpm build` in a checkout, shipped in a
release archive) with the `node` found on the machine. The actions are the same as under bzlmod
(wasm/private/toolchain.bzl); only node comes from here instead of rules_nodejs.

    load("@rules_wasm_oci//wasm:repositories.bzl", "wasm_component_oci_repository")
    wasm_component_oci_repository(name = "auth_service", image = "ghcr.io/org/auth-service", digest = "sha256:...")

pulls a component at fetch time (docs/rules.md, "Fetch-time pulls"): `@auth_service//:component`.
"""

load("//wasm/private:oci_repository.bzl", _wasm_component_oci_repository = "wasm_component_oci_repository")

wasm_component_oci_repository = _wasm_component_oci_repository

_BUILD = """\
load("@rules_wasm_oci//wasm:toolchain.bzl", "wasm_oci_toolchain")

package(default_visibility = ["//visibility:public"])

exports_files(["node"])

wasm_oci_toolchain(
    name = "wasm_oci_toolchain",
    bundle = "@rules_wasm_oci//tools:bundle",
    node = ":node",
)

toolchain(
    name = "toolchain",
    toolchain = ":wasm_oci_toolchain",
    toolchain_type = "@rules_wasm_oci//wasm:toolchain_type",
)
"""

def _find_node(rctx):
    explicit = rctx.os.environ.get("WASM_OCI_NODE", "") or rctx.attr.node_path
    if explicit:
        node = rctx.path(explicit)
        if not node.exists:
            fail("wasm_oci toolchain: node binary %s (WASM_OCI_NODE or node_path) does not exist" % explicit)
        return node
    node = rctx.which("node")
    if node == None:
        fail("wasm_oci toolchain: no `node` on PATH; install Node.js 20 or newer, or set WASM_OCI_NODE=/path/to/node")
    return node

def _wasm_oci_toolchain_repo_impl(rctx):
    node = _find_node(rctx)
    result = rctx.execute([node, "--version"])
    if result.return_code != 0:
        fail("wasm_oci toolchain: `%s --version` failed: %s" % (node, result.stderr))
    version = result.stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        fail("wasm_oci toolchain: %s is Node.js %s; Node.js 20 or newer is needed" % (node, version))
    rctx.symlink(node, "node")
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    rctx.file("BUILD.bazel", _BUILD)

wasm_oci_toolchain_repository = repository_rule(
    implementation = _wasm_oci_toolchain_repo_impl,
    doc = "Makes a repository with a wasm-oci toolchain that runs the prebuilt CLI with the machine's node.",
    attrs = {
        "node_path": attr.string(doc = "Absolute path of node; default: WASM_OCI_NODE, then `node` on PATH."),
    },
    environ = ["WASM_OCI_NODE", "PATH"],
    # The machine's node may change; look it up again on every fetch.
    local = True,
)

def wasm_oci_register_toolchains(name = "wasm_oci_toolchains", node_path = ""):
    """Creates the toolchain repository and registers its toolchain.

    Args:
        name: name of the repository to create.
        node_path: absolute path of node; by default WASM_OCI_NODE, then `node` on PATH.
    """
    wasm_oci_toolchain_repository(name = name, node_path = node_path)
    native.register_toolchains("@%s//:toolchain" % name)
