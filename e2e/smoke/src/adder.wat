;; smoke:calc/ops: add(a, b) = a + b.
(module
  (func (export "smoke:calc/ops#add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add))
