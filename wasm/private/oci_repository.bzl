"""wasm_component_oci_repository: pulls one component at fetch time (repository phase).

The pull runs the same `wasm-oci pull` as the build-time rule, but in the repository phase, on the
machine of the Bazel client: credentials come from that machine's Docker config, credential helpers
and environment, read by the CLI while it runs. Nothing the CLI reads is written into the
repository (its BUILD file names the digest and the reference only), so no credential can reach an
action, an action key or a cache. Verification and policy checks stay sandboxed build actions on the
files this rule fetches (wasm_verify, wac_compose_with_oci with verify_signatures/security_policy).
"""

load(":validate.bzl", "is_digest", "is_host")

# The variable that maps registries to client-side mirrors, e.g. a pull-through cache of a CI
# network: "localhost:5000=127.0.0.1:5123,mirror.corp:443;ghcr.io=ghcr-cache.corp". Safe because the
# digest pins what any mirror must serve.
MIRRORS_ENV = "WASM_OCI_MIRRORS"

# Where the CLI finds credentials on the client machine: a change refetches. Bazel records the values
# of these variables in the repository's marker file, so only locations are listed here, never a
# variable that may hold a secret (credential variables, proxy URLs with a password).
_LOCATION_ENV = ["HOME", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "PATH"]

def _split_image(owner, image):
    """(host, repository, tag, digest) of `[oci://]host/repo[:tag][@sha256:...]`."""
    ref = image[len("oci://"):] if image.startswith("oci://") else image
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    slash = ref.find("/")
    if slash <= 0:
        fail("%s: image \"%s\" must be host[:port]/repository[:tag][@sha256:...], e.g. ghcr.io/org/component" % (owner, image))
    host, path = ref[:slash], ref[slash + 1:]
    tag = ""
    colon = path.rfind(":")
    if colon > 0:
        path, tag = path[:colon], path[colon + 1:]
    if not is_host(host) or not path:
        fail("%s: image \"%s\" must be host[:port]/repository[:tag][@sha256:...], e.g. ghcr.io/org/component" % (owner, image))
    return host, path, tag, digest

def client_mirrors(owner, value):
    """Parses WASM_OCI_MIRRORS: "host=m1,m2;host2=m3" -> {host: [m1, m2], host2: [m3]}.

    Args:
        owner: prefix for error messages.
        value: the variable's value ("" for none).

    Returns:
        dict host -> list of mirror hosts.
    """
    out = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            fail("%s: %s entry \"%s\" must be HOST=MIRROR[,MIRROR...]" % (owner, MIRRORS_ENV, part))
        host, mirrors = part.split("=", 1)
        hosts = [m.strip() for m in mirrors.split(",") if m.strip()]
        for h in [host] + hosts:
            if not is_host(h):
                fail("%s: %s entry \"%s\": \"%s\" must be host[:port]" % (owner, MIRRORS_ENV, part, h))
        out[host] = out.get(host, []) + hosts
    return out

def wasm_oci_cli(rctx):
    """The command that runs the CLI at fetch time: [node, bundle].

    The one place that knows where node and the CLI bundle come from: `node` (a label of a node
    binary file) when the caller gives one (the module extension's `wasm_oci.node`, e.g. the
    binary of a rules_nodejs toolchain repository), else the node the WORKSPACE toolchain
    repository uses (WASM_OCI_NODE, then `node` on PATH); the bundle is this module's prebuilt
    tools/dist/wasm-oci.mjs (the files of `//tools:bundle`, self-contained), as for every action.

    Args:
        rctx: repository_ctx with optional `node` and `node_path` attributes.

    Returns:
        list of paths: the command prefix.
    """
    if rctx.attr.node:
        node = rctx.path(rctx.attr.node)
    else:
        explicit = rctx.os.environ.get("WASM_OCI_NODE", "") or rctx.attr.node_path
        node = rctx.path(explicit) if explicit else rctx.which("node")
        if node == None or not node.exists:
            fail("%s: no node to run the wasm-oci CLI with; install Node.js 20+, or set WASM_OCI_NODE or node_path" % _owner(rctx))
    bundle = rctx.path(Label("//tools:dist/wasm-oci.mjs"))
    if not bundle.exists:
        fail("%s: %s is missing; run `pnpm install && pnpm build` in the rules_wasm_oci checkout (a release archive ships it)" % (_owner(rctx), bundle))
    return [node, bundle]

def _absolute(label):
    # str() of a label of the main repository has no repository part, which a BUILD file of
    # another repository would resolve against itself: spell the main repository "@".
    s = str(label)
    return "@" + s if s.startswith("//") else s

def _owner(rctx):
    return "wasm_component_oci_repository %s" % rctx.name

def _registry_config(rctx, owner, host):
    """Writes the registry config the pull uses: the user's, plus client-side mirrors of `host`.

    Returns:
        path of the config, or None when there is nothing to configure.
    """
    config = None
    if rctx.attr.registry_config:
        text = rctx.read(rctx.path(rctx.attr.registry_config))
        config = json.decode(text)
        if type(config) != "dict" or type(config.get("registries", None)) != "list":
            fail("%s: registry_config %s must be the CLI's registry config JSON ({\"registries\": [...]}; docs/cli.md)" % (owner, rctx.attr.registry_config))
    extra = list(rctx.attr.mirrors) + client_mirrors(owner, rctx.os.environ.get(MIRRORS_ENV, "")).get(host, [])
    for m in rctx.attr.mirrors:
        if not is_host(m):
            fail("%s: mirrors: \"%s\" must be host[:port]" % (owner, m))
    if not extra:
        return rctx.path(rctx.attr.registry_config) if config != None else None
    if config == None:
        config = {"registries": []}
    entry = None
    for r in config["registries"]:
        if r.get("host", "") == host:
            entry = r
    if entry == None:
        entry = {"name": host.replace(":", "_"), "host": host, "type": "oci"}
        config["registries"].append(entry)
    entry["mirrors"] = list(entry.get("mirrors", [])) + [m for m in extra if m not in entry.get("mirrors", [])]
    rctx.file("_fetch/registry-config.json", json.encode_indent(config, indent = "  ") + "\n")
    return rctx.path("_fetch/registry-config.json")

def _pull(rctx, cli, ref, config, signature):
    # The image's policy layer (wassette), when it has one, comes along digest-checked.
    args = cli + ["pull", ref, "-o", "component.wasm", "--metadata", "metadata.json", "--policy-output", "policy.yaml", "--policy-layer-optional"]
    if config != None:
        args.extend(["--registry-config", str(config)])
    if signature:
        args.extend(["--signature-output", "component.sig"])

    # The client environment (Docker config, helpers, credential variables) reaches the CLI here,
    # at fetch time only; quiet=False shows the CLI's progress and errors.
    return rctx.execute(args, timeout = rctx.attr.timeout, quiet = True)

def _wasm_component_oci_repository_impl(rctx):
    owner = _owner(rctx)
    host, repo, tag, in_ref_digest = _split_image(owner, rctx.attr.image)
    digest = rctx.attr.digest or in_ref_digest
    if rctx.attr.digest and in_ref_digest and rctx.attr.digest != in_ref_digest:
        fail("%s: digest \"%s\" disagrees with the digest in image \"%s\"" % (owner, rctx.attr.digest, rctx.attr.image))
    if digest and not is_digest(digest):
        fail("%s: digest \"%s\" must be sha256: followed by 64 lowercase hex digits" % (owner, digest))
    cli = wasm_oci_cli(rctx)
    config = _registry_config(rctx, owner, host)
    base = host + "/" + repo
    ref = base + ("@" + digest if digest else ":" + (tag or "latest"))

    want_sig = rctx.attr.signature != "none"
    result = _pull(rctx, cli, ref, config, want_sig)
    if result.return_code != 0 and rctx.attr.signature == "auto" and "[NO_SIGNATURE]" in result.stderr:
        # No signature artifact refers to the image: fetch the component alone (from the cache).
        want_sig = False
        result = _pull(rctx, cli, ref, config, False)
    if result.return_code != 0:
        fail("%s: `wasm-oci pull %s` failed (exit %d):\n%s" % (owner, ref, result.return_code, result.stderr.strip()))
    meta = json.decode(rctx.read("metadata.json"))
    resolved = meta.get("indexDigest", None) or meta["manifestDigest"]
    if not digest:
        pin = "digest = \"%s\"," % resolved
        if not rctx.attr.allow_tag_without_digest:
            rctx.delete("component.wasm")
            fail(("%s: image \"%s\" has no digest; the tag resolves to %s now. A tag can move: pin it by " +
                  "adding this line to the rule (or wasm_oci.pull):\n    %s\nor set allow_tag_without_digest = True " +
                  "to accept whatever the tag names at each fetch.") % (owner, rctx.attr.image, resolved, pin))

        # buildifier: disable=print
        print("%s: %s resolved to %s; pin it with:\n    %s" % (owner, ref, resolved, pin))

    has_policy = rctx.path("policy.yaml").exists
    package_name = rctx.attr.package_name or "oci:" + repo.split("/")[-1].replace("_", "-").lower()
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    rctx.file("BUILD.bazel", """# Generated by wasm_component_oci_repository: {ref} (fetched {resolved}).
load("{fetched}", "fetched_component")

package(default_visibility = ["//visibility:public"])

exports_files(["component.wasm", "metadata.json"{sig_export}{policy_export}])

fetched_component(
    name = "component",
    wasm = "component.wasm",
    metadata = "metadata.json",
    signature = {sig},
    reference = {reference},
    digest = "{resolved}",
    package_name = "{package_name}",
)

filegroup(
    name = "metadata",
    srcs = ["metadata.json"],
)

filegroup(
    name = "signature",
    srcs = [{sig_src}],
)

filegroup(
    name = "policy",
    srcs = [{policy_src}],
)
""".format(
        ref = ref,
        resolved = resolved,
        fetched = _absolute(Label("//wasm/private:fetched_component.bzl")),
        sig_export = ", \"component.sig\"" if want_sig else "",
        sig = "\"component.sig\"" if want_sig else "None",
        sig_src = "\"component.sig\"" if want_sig else "",
        policy_export = ", \"policy.yaml\"" if has_policy else "",
        policy_src = "\"policy.yaml\"" if has_policy else "",
        reference = json.encode(base),
        package_name = package_name,
    ))
    return None

wasm_component_oci_repository = repository_rule(
    implementation = _wasm_component_oci_repository_impl,
    doc = "Pulls one component at fetch time, pinned by digest; see docs/rules.md (\"Fetch-time pulls\").",
    attrs = {
        "image": attr.string(mandatory = True, doc = "host[:port]/repository[:tag][@sha256:...]."),
        "digest": attr.string(doc = "Manifest (or index) digest sha256:...; required unless allow_tag_without_digest."),
        "allow_tag_without_digest": attr.bool(default = False, doc = "Accept a tag without digest (not reproducible: the tag may move)."),
        "registry_config": attr.label(allow_single_file = [".json"], doc = "The CLI's registry config JSON (auth sources, mirrors, retry); a source file."),
        "mirrors": attr.string_list(doc = "Mirror hosts of the image's registry, tried in order when it fails."),
        "signature": attr.string(
            default = "auto",
            values = ["auto", "required", "none"],
            doc = "Detached signature artifact referring to the image: fetched when present (auto), required, or not fetched.",
        ),
        "package_name": attr.string(doc = "WAC package name; default oci:<last path component of the repository>."),
        "node": attr.label(allow_single_file = True, doc = "node binary to run the CLI with (the module extension passes rules_nodejs')."),
        "node_path": attr.string(doc = "Absolute path of node; default WASM_OCI_NODE, then `node` on PATH."),
        "timeout": attr.int(default = 600, doc = "Seconds the pull may take."),
    },
    environ = [MIRRORS_ENV, "WASM_OCI_NODE"] + _LOCATION_ENV,
)
