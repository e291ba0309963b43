"""Public: the toolchain rule, for users who declare their own wasm-oci toolchain."""

load("//wasm/private:toolchain.bzl", _wasm_oci_toolchain = "wasm_oci_toolchain")

wasm_oci_toolchain = _wasm_oci_toolchain
