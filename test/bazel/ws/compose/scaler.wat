;; test:math/scale: times(x) = 3 * x.
(module
  (func (export "test:math/scale#times") (param i32) (result i32)
    local.get 0 i32.const 3 i32.mul))
