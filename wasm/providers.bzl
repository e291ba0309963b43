"""Providers of rules_wasm_oci. None of them ever holds a credential."""

WasmComponentInfo = provider(
    doc = "A WebAssembly component (or core module) produced or pulled by a rule.",
    fields = {
        "wasm": "File: the component binary.",
        "metadata": "File or None: pull metadata JSON (reference, manifest digest, layer, annotations).",
        "signature": "File or None: detached signature, when the component is signed with one.",
        "package_name": "string: WAC package name (`ns:name`) used when composing, or \"\".",
        "reference": "string: the OCI reference it came from, or \"\" for local components.",
        "digest": "string: the pinned manifest digest (`sha256:...`), or \"\" when not pinned.",
    },
)

WasmRegistryConfigInfo = provider(
    doc = "A registry configuration for the wasm-oci CLI plus the matching wkg config.toml.",
    fields = {
        "config": "File: registry config JSON read by `wasm-oci --registry-config`.",
        "wkg_config": "File: wkg-compatible config.toml (no secrets).",
        "registries": "dict: registry name -> host.",
        "default_registry": "string: name of the default registry, or \"\".",
        "cache_dir": "string: the blob cache directory of the config, or \"\".",
        "env_vars": "list of string: names of the environment variables that hold credentials (read by `bazel run` publish targets in the user's shell).",
        "env_auth": "dict: registry name -> \"env VAR...\" for registries whose credential comes from the environment; build-time pulls from them are refused.",
    },
)

WasmSecurityPolicyInfo = provider(
    doc = "A security policy for `wasm-oci policy check` and the policy-aware commands.",
    fields = {
        "policy": "File: the policy JSON.",
        "keys": "depset of File: public keys the policy names (inputs of every action that reads the policy).",
        "default_signing_required": "bool",
        "signature_type": "string: embedded | detached",
    },
)

WasmKeyPairInfo = provider(
    doc = "A wasmsign2 key pair. Secret keys made by wasm_keygen live in bazel-out: examples and tests only.",
    fields = {
        "public_key": "File: public key.",
        "secret_key": "File or None: secret key.",
        "openssh_format": "bool: keys are in OpenSSH format.",
    },
)

WasmOciImageInfo = provider(
    doc = "An OCI image layout holding one component, ready to push.",
    fields = {
        "layout": "File (directory): the OCI image layout.",
        "digest": "File: text file with the manifest digest.",
        "component": "File: the component packed in the layout.",
        "tag": "string: tag recorded in the layout.",
        "registry": "string: default registry host (may be \"\").",
        "namespace": "string: default repository namespace (may be \"\").",
        "package_name": "string: repository name under the namespace.",
        "annotations": "dict: manifest annotations.",
    },
)
