"""Public API of rules_wasm_oci: load("@rules_wasm_oci//wasm:defs.bzl", ...). Reference: docs/rules.md."""

load(
    "//wasm:providers.bzl",
    _WasmComponentInfo = "WasmComponentInfo",
    _WasmKeyPairInfo = "WasmKeyPairInfo",
    _WasmOciImageInfo = "WasmOciImageInfo",
    _WasmRegistryConfigInfo = "WasmRegistryConfigInfo",
    _WasmSecurityPolicyInfo = "WasmSecurityPolicyInfo",
)
load("//wasm/private:component_test.bzl", _wasm_component_test = "wasm_component_test")
load(
    "//wasm/private:compose.bzl",
    _wac_compose_with_oci = "wac_compose_with_oci",
    _wac_distributed_system = "wac_distributed_system",
    _wac_microservices_app = "wac_microservices_app",
)
load("//wasm/private:image.bzl", _wasm_component_oci_image = "wasm_component_oci_image")
load(
    "//wasm/private:macros.bzl",
    _wasm_component_oci_publish = "wasm_component_oci_publish",
    _wasm_component_secure_publish = "wasm_component_secure_publish",
)
load("//wasm/private:policy.bzl", _wasm_security_policy = "wasm_security_policy")
load("//wasm/private:publish.bzl", _wasm_component_publish = "wasm_component_publish")
load("//wasm/private:pull.bzl", _wasm_component_from_oci = "wasm_component_from_oci")
load("//wasm/private:registry_config.bzl", _wkg_registry_config = "wkg_registry_config")
load(
    "//wasm/private:signing.bzl",
    _wasm_keygen = "wasm_keygen",
    _wasm_sign = "wasm_sign",
    _wasm_verify = "wasm_verify",
)
load("//wasm/private:toolchain.bzl", _wasm_oci_toolchain = "wasm_oci_toolchain")
load("//wasm/private:component_build.bzl", _wasm_component_from_wat = "wasm_component_from_wat")  # buildifier: disable=out-of-order-load

wasm_component_from_wat = _wasm_component_from_wat
WasmComponentInfo = _WasmComponentInfo
WasmKeyPairInfo = _WasmKeyPairInfo
WasmOciImageInfo = _WasmOciImageInfo
WasmRegistryConfigInfo = _WasmRegistryConfigInfo
WasmSecurityPolicyInfo = _WasmSecurityPolicyInfo

wasm_component_from_oci = _wasm_component_from_oci
wac_compose_with_oci = _wac_compose_with_oci
wac_microservices_app = _wac_microservices_app
wac_distributed_system = _wac_distributed_system
wkg_registry_config = _wkg_registry_config
wasm_security_policy = _wasm_security_policy
wasm_keygen = _wasm_keygen
wasm_sign = _wasm_sign
wasm_verify = _wasm_verify
wasm_component_oci_image = _wasm_component_oci_image
wasm_component_publish = _wasm_component_publish
wasm_component_oci_publish = _wasm_component_oci_publish
wasm_component_secure_publish = _wasm_component_secure_publish
wasm_component_test = _wasm_component_test
wasm_oci_toolchain = _wasm_oci_toolchain
