;; hello: greet(name) -> "Hello, <name>!".
;; Core module in the canonical ABI (see ../../wac_oci_composition/README.md): a string is a (pointer, length) pair in
;; linear memory; arguments arrive through cabi_realloc; a string result is returned as the address
;; of an 8-byte area holding (pointer, length). `wasm-oci component new` wraps it with the WIT world.
(module
  (memory (export "memory") 1)
  ;; Bump allocator: nothing is freed; an instance serves a handful of calls in these examples.
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "Hello, ")
  (data (i32.const 32) "!")
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    ;; round the heap pointer up to $align (a power of two)
    (local.set $p
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    ;; grow the memory when the heap end moved past it
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.add
                  (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16))
                  (i32.const 1)))
              (i32.const -1))
          (then unreachable))))
    (local.get $p))

  ;; The host (or the caller component's adapter) copies strings into this module through it.
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $p i32)
    (local.set $p (call $alloc (local.get $new_size) (local.get $align)))
    (if (local.get $old)
      (then
        (memory.copy (local.get $p) (local.get $old)
          (select (local.get $old_size) (local.get $new_size) (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $p))

  ;; Copies len bytes from src to dst; returns the end of the copy.
  (func $append (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))

  ;; A string result: an 8-byte return area holding (pointer, length); returns its address.
  (func $ret (param $ptr i32) (param $len i32) (result i32)
    (local $area i32)
    (local.set $area (call $alloc (i32.const 8) (i32.const 4)))
    (i32.store (local.get $area) (local.get $ptr))
    (i32.store offset=4 (local.get $area) (local.get $len))
    (local.get $area))

  ;; prefix ++ s ++ ")" as a string result.
  (func $wrap (param $prefix i32) (param $prefix_len i32) (param $s i32) (param $s_len i32) (result i32)
    (local $out i32)
    (local $end i32)
    (local.set $out (call $alloc (i32.add (i32.add (local.get $prefix_len) (local.get $s_len)) (i32.const 1)) (i32.const 1)))
    (local.set $end (call $append (local.get $out) (local.get $prefix) (local.get $prefix_len)))
    (local.set $end (call $append (local.get $end) (local.get $s) (local.get $s_len)))
    (i32.store8 (local.get $end) (i32.const 41)) ;; ')'
    (call $ret (local.get $out) (i32.sub (i32.add (local.get $end) (i32.const 1)) (local.get $out))))

  (func (export "greet") (param $name i32) (param $name_len i32) (result i32)
    (local $out i32)
    (local $end i32)
    (local.set $out (call $alloc (i32.add (local.get $name_len) (i32.const 8)) (i32.const 1)))
    (local.set $end (call $append (local.get $out) (i32.const 16) (i32.const 7)))
    (local.set $end (call $append (local.get $end) (local.get $name) (local.get $name_len)))
    (local.set $end (call $append (local.get $end) (i32.const 32) (i32.const 1)))
    (call $ret (local.get $out) (i32.sub (local.get $end) (local.get $out))))
)
