;; A pure Palisade policy plugin: a component that imports nothing, not even WASI.
;;
;; Hand-written against `wit/policy.wit` (palisade:policy@0.1.0) with the canonical ABI, so it
;; proves the host links no WASI for a component that does not ask for it. Its one rule,
;; `pure/host-network`, fires on every Kubernetes resource whose attributes (the JSON text the
;; host sends) contain `"hostNetwork":true`, at the resource itself (pointer "").
;;
;; Layouts (canonical ABI, 32-bit): string = ptr,len (8 bytes); resource = 4 strings (32);
;; finding = 4 strings + option<severity> at 32 (36); rule = id 0, title 8, severity 16,
;; kinds 20, description 28, remediation 36, help-uri 44 (option<string>: tag, then ptr,len at
;; 48), tags 56 (64); plugin-info = name 0, version 8, rules 16 (24);
;; result<T, string> = tag at 0, payload at 4 (12).
(component
  (core module $policy
    (memory (export "memory") 1)
    ;; Bump allocator: every run is a fresh instance, so nothing is ever freed.
    (global $heap (mut i32) (i32.const 768))
    ;; name: 12 bytes
    (data (i32.const 256) "pure-network")
    ;; version: 5 bytes
    (data (i32.const 272) "1.0.0")
    ;; rule: 17 bytes
    (data (i32.const 288) "pure/host-network")
    ;; title: 39 bytes
    (data (i32.const 320) "Pod shares the node's network namespace")
    ;; kinds: 12 bytes
    (data (i32.const 368) "kubernetes/*")
    ;; description: 125 bytes
    (data (i32.const 384) "A pod with `hostNetwork: true` sees every network interface of its node and can reach services bound to the node's localhost.")
    ;; remediation: 45 bytes
    (data (i32.const 512) "Remove `hostNetwork: true` from the pod spec.")
    ;; tag: 7 bytes
    (data (i32.const 560) "network")
    ;; needle: 18 bytes
    (data (i32.const 576) "\22hostNetwork\22:true")
    ;; message: 64 bytes
    (data (i32.const 608) "hostNetwork is true: the pod shares the node's network namespace")

    (func $alloc (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $ptr i32) (local $end i32)
      (local.set $ptr
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $ptr) (local.get $size)))
      (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
        (then
          (if (i32.eq
                (memory.grow
                  (i32.sub
                    (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                    (memory.size)))
                (i32.const -1))
            (then (unreachable)))))
      (global.set $heap (local.get $end))
      (local.get $ptr))

    (func (export "describe") (result i32)
      (local $info i32) (local $rule i32) (local $kinds i32) (local $tags i32)
      (local.set $kinds (call $alloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (i32.store offset=0 (local.get $kinds) (i32.const 368))
      (i32.store offset=4 (local.get $kinds) (i32.const 12))
      (local.set $tags (call $alloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (i32.store offset=0 (local.get $tags) (i32.const 560))
      (i32.store offset=4 (local.get $tags) (i32.const 7))
      (local.set $rule (call $alloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 64)))
      (i32.store offset=0 (local.get $rule) (i32.const 288))
      (i32.store offset=4 (local.get $rule) (i32.const 17))
      (i32.store offset=8 (local.get $rule) (i32.const 320))
      (i32.store offset=12 (local.get $rule) (i32.const 39))
      ;; severity: high
      (i32.store8 offset=16 (local.get $rule) (i32.const 3))
      (i32.store offset=20 (local.get $rule) (local.get $kinds))
      (i32.store offset=24 (local.get $rule) (i32.const 1))
      (i32.store offset=28 (local.get $rule) (i32.const 384))
      (i32.store offset=32 (local.get $rule) (i32.const 125))
      (i32.store offset=36 (local.get $rule) (i32.const 512))
      (i32.store offset=40 (local.get $rule) (i32.const 45))
      ;; help-uri: none
      (i32.store8 offset=44 (local.get $rule) (i32.const 0))
      (i32.store offset=56 (local.get $rule) (local.get $tags))
      (i32.store offset=60 (local.get $rule) (i32.const 1))
      (local.set $info (call $alloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 24)))
      (i32.store offset=0 (local.get $info) (i32.const 256))
      (i32.store offset=4 (local.get $info) (i32.const 12))
      (i32.store offset=8 (local.get $info) (i32.const 272))
      (i32.store offset=12 (local.get $info) (i32.const 5))
      (i32.store offset=16 (local.get $info) (local.get $rule))
      (i32.store offset=20 (local.get $info) (i32.const 1))
      (local.get $info))

    ;; No settings: any config is accepted.
    (func (export "configure") (param $ptr i32) (param $len i32) (result i32)
      (local $result i32)
      (local.set $result (call $alloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 12)))
      (i32.store8 (local.get $result) (i32.const 0))
      (local.get $result))

    ;; True when the `len` bytes at `ptr` contain the needle.
    (func $contains (param $ptr i32) (param $len i32) (result i32)
      (local $i i32) (local $j i32)
      (if (i32.lt_u (local.get $len) (i32.const 18))
        (then (return (i32.const 0))))
      (block $done
        (loop $start
          (br_if $done (i32.gt_u (local.get $i) (i32.sub (local.get $len) (i32.const 18))))
          (local.set $j (i32.const 0))
          (block $mismatch
            (loop $compare
              (br_if $mismatch
                (i32.ne
                  (i32.load8_u (i32.add (local.get $ptr) (i32.add (local.get $i) (local.get $j))))
                  (i32.load8_u offset=576 (local.get $j))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $compare (i32.lt_u (local.get $j) (i32.const 18)))
              (return (i32.const 1))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $start)))
      (i32.const 0))

    (func (export "evaluate") (param $resources i32) (param $count i32) (result i32)
      (local $findings i32) (local $found i32) (local $i i32) (local $resource i32)
      (local $finding i32) (local $result i32)
      (local.set $findings
        (call $alloc (i32.const 0) (i32.const 0) (i32.const 4)
          (i32.mul (local.get $count) (i32.const 36))))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
          (local.set $resource
            (i32.add (local.get $resources) (i32.mul (local.get $i) (i32.const 32))))
          (if (call $contains
                (i32.load offset=24 (local.get $resource))
                (i32.load offset=28 (local.get $resource)))
            (then
              (local.set $finding
                (i32.add (local.get $findings) (i32.mul (local.get $found) (i32.const 36))))
              (i32.store offset=0 (local.get $finding) (i32.const 288))
              (i32.store offset=4 (local.get $finding) (i32.const 17))
              ;; resource-id: the resource's own id, still in this memory
              (i32.store offset=8 (local.get $finding) (i32.load (local.get $resource)))
              (i32.store offset=12 (local.get $finding) (i32.load offset=4 (local.get $resource)))
              (i32.store offset=16 (local.get $finding) (i32.const 608))
              (i32.store offset=20 (local.get $finding) (i32.const 64))
              ;; pointer: "" (the whole resource)
              (i32.store offset=24 (local.get $finding) (i32.const 576))
              (i32.store offset=28 (local.get $finding) (i32.const 0))
              ;; severity: none (the rule's own)
              (i32.store8 offset=32 (local.get $finding) (i32.const 0))
              (local.set $found (i32.add (local.get $found) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (local.set $result (call $alloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 12)))
      (i32.store8 (local.get $result) (i32.const 0))
      (i32.store offset=4 (local.get $result) (local.get $findings))
      (i32.store offset=8 (local.get $result) (local.get $found))
      (local.get $result))
  )
  (core instance $policy (instantiate $policy))

  (type $severity' (enum "info" "low" "medium" "high" "critical"))
  (export $severity "severity" (type $severity'))
  (type $rule' (record
    (field "id" string)
    (field "title" string)
    (field "severity" $severity)
    (field "kinds" (list string))
    (field "description" string)
    (field "remediation" string)
    (field "help-uri" (option string))
    (field "tags" (list string))))
  (export $rule "rule" (type $rule'))
  (type $plugin-info' (record
    (field "name" string)
    (field "version" string)
    (field "rules" (list $rule))))
  (export $plugin-info "plugin-info" (type $plugin-info'))
  (type $resource' (record
    (field "id" string)
    (field "kind" string)
    (field "file" string)
    (field "attributes" string)))
  (export $resource "resource" (type $resource'))
  (type $finding' (record
    (field "rule-id" string)
    (field "resource-id" string)
    (field "message" string)
    (field "pointer" string)
    (field "severity" (option $severity))))
  (export $finding "finding" (type $finding'))

  (func $describe (result $plugin-info)
    (canon lift (core func $policy "describe") (memory $policy "memory")))
  (func $configure (param "config" string) (result (result (error string)))
    (canon lift (core func $policy "configure") (memory $policy "memory")
      (realloc (func $policy "cabi_realloc"))))
  (func $evaluate (param "resources" (list $resource)) (result (result (list $finding) (error string)))
    (canon lift (core func $policy "evaluate") (memory $policy "memory")
      (realloc (func $policy "cabi_realloc"))))

  (instance $exports
    (export "describe" (func $describe))
    (export "configure" (func $configure))
    (export "evaluate" (func $evaluate)))
  (export "palisade:policy/policy@0.1.0" (instance $exports))
)
