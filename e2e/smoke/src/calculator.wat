;; compute(x) = ops.add(x, 10).
(module
  (import "smoke:calc/ops" "add" (func $add (param i32 i32) (result i32)))
  (func (export "compute") (param i32) (result i32)
    local.get 0 i32.const 10 call $add))
