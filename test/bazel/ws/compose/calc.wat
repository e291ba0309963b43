;; compute(x) = ops.add(scale.times(x), 1): needs both services.
(module
  (import "test:math/ops" "add" (func $add (param i32 i32) (result i32)))
  (import "test:math/scale" "times" (func $times (param i32) (result i32)))
  (func (export "compute") (param i32) (result i32)
    local.get 0 call $times i32.const 1 call $add))
