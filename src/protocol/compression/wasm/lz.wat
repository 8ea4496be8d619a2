;; LZ4 and snappy block decoders (and, at the end, compressors) in WebAssembly:
;; the same algorithms as the TypeScript ones in lz4.ts and snappy.ts, which
;; stay the reference and the fallback. WebAssembly gives 8-byte loads and stores, so literals and
;; matches move 8 or 16 bytes per step where there is room, which JavaScript
;; cannot do on a Uint8Array.
;;
;; Both functions work on addresses in this module's memory: the caller copies
;; the compressed bytes in, reserves the output region, and copies the output
;; out. They return the new output position, or
;;   -1  the output would pass `opEnd` (the caller knows which limit that is),
;;   -2  the input is malformed (the caller reruns the TypeScript decoder on the
;;       same bytes for a message saying what is wrong).
;; Every length is checked against the bytes left before it is used, so the
;; arithmetic stays far below 2^31 for inputs the caller allows (<= 16 MiB).
;;
;; Rebuild the embedded bytes after editing: deno run -A src/protocol/compression/wasm/build.ts

(module
  (memory (export "memory") 1)

;; Copies a match of `len` bytes from `off` bytes back (op + len <= opEnd),
  ;; with LZ77 semantics: where source and destination overlap, the bytes just
  ;; written repeat. The block functions inline the short cases themselves.
  (func $copy_match (param $op i32) (param $off i32) (param $len i32) (param $opEnd i32)
    (local $m i32) (local $end i32) (local $n i32)
    (local.set $m (i32.sub (local.get $op) (local.get $off)))
    (local.set $end (i32.add (local.get $op) (local.get $len)))
    ;; No overlap and long: one bulk move.
    (if (i32.and (i32.ge_u (local.get $off) (local.get $len)) (i32.gt_u (local.get $len) (i32.const 32)))
      (then
        (memory.copy (local.get $op) (local.get $m) (local.get $len))
        (return)))
    ;; Each 8-byte step reads bytes at least 8 back, all written already.
    ;; Steps may write up to 7 bytes past `end`: allowed only with room.
    (if (i32.and
          (i32.ge_u (local.get $off) (i32.const 8))
          (i32.le_u (i32.add (local.get $end) (i32.const 8)) (local.get $opEnd)))
      (then
        (loop $step
          (i64.store (local.get $op) (i64.load (local.get $m)))
          (local.set $m (i32.add (local.get $m) (i32.const 8)))
          (local.set $op (i32.add (local.get $op) (i32.const 8)))
          (br_if $step (i32.lt_u (local.get $op) (local.get $end))))
        (return)))
    (if (i32.gt_u (local.get $len) (i32.const 32))
      (then
        ;; A long match with a short period: copy from the start of the
        ;; pattern in doubling chunks, each a multiple of the period (so no
        ;; chunk overlaps its source and the pattern stays aligned).
        (local.set $n (local.get $off))
        (loop $double
          (if (i32.gt_u (local.get $n) (i32.sub (local.get $end) (local.get $op)))
            (then (local.set $n (i32.sub (local.get $end) (local.get $op)))))
          (memory.copy (local.get $op) (local.get $m) (local.get $n))
          (local.set $op (i32.add (local.get $op) (local.get $n)))
          (local.set $n (i32.sub (local.get $op) (local.get $m)))
          (br_if $double (i32.lt_u (local.get $op) (local.get $end))))
        (return)))
    (loop $byte
      (i32.store8 (local.get $op) (i32.load8_u (local.get $m)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (local.set $op (i32.add (local.get $op) (i32.const 1)))
      (br_if $byte (i32.lt_u (local.get $op) (local.get $end)))))

  ;; One LZ4 block [ip, ipEnd) into [op, opEnd); matches may reach back to `win`.
  (func (export "lz4_block")
    (param $ip i32) (param $ipEnd i32) (param $op i32) (param $opEnd i32) (param $win i32)
    (result i32)
    (local $token i32) (local $lit i32) (local $len i32) (local $b i32) (local $off i32)
    (loop $sequence
      (if (i32.ge_u (local.get $ip) (local.get $ipEnd)) (then (return (i32.const -2))))
      (local.set $token (i32.load8_u (local.get $ip)))
      (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
      (local.set $lit (i32.shr_u (local.get $token) (i32.const 4)))
      (if (i32.eq (local.get $lit) (i32.const 15))
        (then
          (loop $more
            (if (i32.ge_u (local.get $ip) (local.get $ipEnd)) (then (return (i32.const -2))))
            (local.set $b (i32.load8_u (local.get $ip)))
            (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
            (local.set $lit (i32.add (local.get $lit) (local.get $b)))
            (if (i32.gt_u (local.get $lit) (i32.sub (local.get $ipEnd) (local.get $ip)))
              (then (return (i32.const -2))))
            (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
      (if (i32.gt_u (local.get $lit) (i32.sub (local.get $ipEnd) (local.get $ip)))
        (then (return (i32.const -2))))
      (if (i32.gt_u (local.get $lit) (i32.sub (local.get $opEnd) (local.get $op)))
        (then (return (i32.const -1))))
      (if (i32.and
            (i32.le_u (local.get $lit) (i32.const 16))
            (i32.and
              (i32.le_u (i32.add (local.get $ip) (i32.const 16)) (local.get $ipEnd))
              (i32.le_u (i32.add (local.get $op) (i32.const 16)) (local.get $opEnd))))
        (then
          (i64.store (local.get $op) (i64.load (local.get $ip)))
          (i64.store offset=8 (local.get $op) (i64.load offset=8 (local.get $ip))))
        (else
          (memory.copy (local.get $op) (local.get $ip) (local.get $lit))))
      (local.set $ip (i32.add (local.get $ip) (local.get $lit)))
      (local.set $op (i32.add (local.get $op) (local.get $lit)))
      ;; The last sequence has literals only.
      (if (i32.eq (local.get $ip) (local.get $ipEnd)) (then (return (local.get $op))))

      (if (i32.lt_u (i32.sub (local.get $ipEnd) (local.get $ip)) (i32.const 2))
        (then (return (i32.const -2))))
      (local.set $off (i32.load16_u (local.get $ip)))
      (local.set $ip (i32.add (local.get $ip) (i32.const 2)))
      (if (i32.or
            (i32.eqz (local.get $off))
            (i32.gt_u (local.get $off) (i32.sub (local.get $op) (local.get $win))))
        (then (return (i32.const -2))))
      (local.set $len (i32.add (i32.and (local.get $token) (i32.const 15)) (i32.const 4)))
      (if (i32.eq (local.get $len) (i32.const 19))
        (then
          (loop $more
            (if (i32.ge_u (local.get $ip) (local.get $ipEnd)) (then (return (i32.const -2))))
            (local.set $b (i32.load8_u (local.get $ip)))
            (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
            (local.set $len (i32.add (local.get $len) (local.get $b)))
            (if (i32.gt_u (local.get $len) (i32.sub (local.get $opEnd) (local.get $op)))
              (then (return (i32.const -1))))
            (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
      (if (i32.gt_u (local.get $len) (i32.sub (local.get $opEnd) (local.get $op)))
        (then (return (i32.const -1))))
      ;; Inline fast path for the common short match: two or four 8-byte moves.
      (if (i32.and
            (i32.and (i32.ge_u (local.get $off) (i32.const 8)) (i32.le_u (local.get $len) (i32.const 32)))
            (i32.le_u (i32.add (local.get $op) (i32.const 32)) (local.get $opEnd)))
        (then
          (i64.store (local.get $op) (i64.load (i32.sub (local.get $op) (local.get $off))))
          (i64.store offset=8 (local.get $op) (i64.load offset=8 (i32.sub (local.get $op) (local.get $off))))
          (if (i32.gt_u (local.get $len) (i32.const 16))
            (then
              (i64.store offset=16 (local.get $op) (i64.load offset=16 (i32.sub (local.get $op) (local.get $off))))
              (i64.store offset=24 (local.get $op) (i64.load offset=24 (i32.sub (local.get $op) (local.get $off)))))))
        (else
          (call $copy_match (local.get $op) (local.get $off) (local.get $len) (local.get $opEnd))))
      (local.set $op (i32.add (local.get $op) (local.get $len)))
      (br $sequence))
    (unreachable))

  ;; One raw snappy block's elements [ip, ipEnd) into [op, opEnd); copies may
  ;; reach back to the initial `op`. The caller checks that the returned
  ;; position equals opEnd (the length the block declared).
  (func (export "snappy_block")
    (param $ip i32) (param $ipEnd i32) (param $op i32) (param $opEnd i32)
    (result i32)
    (local $start i32) (local $tag i32) (local $len i32) (local $n i32) (local $off i32)
    (local.set $start (local.get $op))
    (block $done
      (loop $element
        (br_if $done (i32.ge_u (local.get $ip) (local.get $ipEnd)))
        (local.set $tag (i32.load8_u (local.get $ip)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $tag) (i32.const 3)))
          (then
            ;; Literal: length-1 in the tag, or in the next 1-4 bytes.
            (local.set $len (i32.shr_u (local.get $tag) (i32.const 2)))
            (if (i32.ge_u (local.get $len) (i32.const 60))
              (then
                (local.set $n (i32.sub (local.get $len) (i32.const 59)))
                (if (i32.lt_u (i32.sub (local.get $ipEnd) (local.get $ip)) (local.get $n))
                  (then (return (i32.const -2))))
                (local.set $len (i32.load8_u (local.get $ip)))
                (if (i32.gt_u (local.get $n) (i32.const 1))
                  (then (local.set $len (i32.or (local.get $len)
                    (i32.shl (i32.load8_u offset=1 (local.get $ip)) (i32.const 8))))))
                (if (i32.gt_u (local.get $n) (i32.const 2))
                  (then (local.set $len (i32.or (local.get $len)
                    (i32.shl (i32.load8_u offset=2 (local.get $ip)) (i32.const 16))))))
                (if (i32.gt_u (local.get $n) (i32.const 3))
                  (then (local.set $len (i32.or (local.get $len)
                    (i32.shl (i32.load8_u offset=3 (local.get $ip)) (i32.const 24))))))
                (local.set $ip (i32.add (local.get $ip) (local.get $n)))))
            ;; len is length-1 here: compare before adding 1 so it cannot wrap.
            (if (i32.ge_u (local.get $len) (i32.sub (local.get $ipEnd) (local.get $ip)))
              (then (return (i32.const -2))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (if (i32.gt_u (local.get $len) (i32.sub (local.get $opEnd) (local.get $op)))
              (then (return (i32.const -2))))
            (if (i32.and
                  (i32.le_u (local.get $len) (i32.const 16))
                  (i32.and
                    (i32.le_u (i32.add (local.get $ip) (i32.const 16)) (local.get $ipEnd))
                    (i32.le_u (i32.add (local.get $op) (i32.const 16)) (local.get $opEnd))))
              (then
                (i64.store (local.get $op) (i64.load (local.get $ip)))
                (i64.store offset=8 (local.get $op) (i64.load offset=8 (local.get $ip))))
              (else
                (memory.copy (local.get $op) (local.get $ip) (local.get $len))))
            (local.set $ip (i32.add (local.get $ip) (local.get $len)))
            (local.set $op (i32.add (local.get $op) (local.get $len)))
            (br $element)))
        (if (i32.eq (i32.and (local.get $tag) (i32.const 3)) (i32.const 1))
          (then
            ;; Copy, 1-byte offset: 3 more offset bits and the length in the tag.
            (if (i32.ge_u (local.get $ip) (local.get $ipEnd)) (then (return (i32.const -2))))
            (local.set $len (i32.add (i32.and (i32.shr_u (local.get $tag) (i32.const 2)) (i32.const 7)) (i32.const 4)))
            (local.set $off (i32.or (i32.load8_u (local.get $ip))
              (i32.shl (i32.shr_u (local.get $tag) (i32.const 5)) (i32.const 8))))
            (local.set $ip (i32.add (local.get $ip) (i32.const 1))))
          (else
            (local.set $len (i32.add (i32.shr_u (local.get $tag) (i32.const 2)) (i32.const 1)))
            (if (i32.eq (i32.and (local.get $tag) (i32.const 3)) (i32.const 2))
              (then
                (if (i32.lt_u (i32.sub (local.get $ipEnd) (local.get $ip)) (i32.const 2))
                  (then (return (i32.const -2))))
                (local.set $off (i32.load16_u (local.get $ip)))
                (local.set $ip (i32.add (local.get $ip) (i32.const 2))))
              (else
                (if (i32.lt_u (i32.sub (local.get $ipEnd) (local.get $ip)) (i32.const 4))
                  (then (return (i32.const -2))))
                (local.set $off (i32.load (local.get $ip)))
                (local.set $ip (i32.add (local.get $ip) (i32.const 4)))))))
        (if (i32.or
              (i32.eqz (local.get $off))
              (i32.gt_u (local.get $off) (i32.sub (local.get $op) (local.get $start))))
          (then (return (i32.const -2))))
        (if (i32.gt_u (local.get $len) (i32.sub (local.get $opEnd) (local.get $op)))
          (then (return (i32.const -2))))
        ;; Inline fast path for the common short copy: two 8-byte moves.
        (if (i32.and
              (i32.and (i32.ge_u (local.get $off) (i32.const 8)) (i32.le_u (local.get $len) (i32.const 16)))
              (i32.le_u (i32.add (local.get $op) (i32.const 16)) (local.get $opEnd)))
          (then
            (i64.store (local.get $op) (i64.load (i32.sub (local.get $op) (local.get $off))))
            (i64.store offset=8 (local.get $op) (i64.load offset=8 (i32.sub (local.get $op) (local.get $off)))))
          (else
            (call $copy_match (local.get $op) (local.get $off) (local.get $len) (local.get $opEnd))))
        (local.set $op (i32.add (local.get $op) (local.get $len)))
        (br $element)))
    (local.get $op))

  ;; ---------------------------------------------------------------------------
  ;; LZ4 block compressor: the greedy single-probe hash matcher of compressLz4 in
  ;; lz4.ts (same hash, same skip-ahead, same end rules), with 8-byte match
  ;; extension and bulk literal copies. Compresses [s, sEnd) (at most 64 KiB) to
  ;; `op` and returns the end; the caller reserves the worst case. `tab` holds
  ;; 2^14 absolute addresses and is never cleared: an entry is used only if it
  ;; lies in [s, ip) and its 4 bytes equal the current ones, which makes any
  ;; stale entry a real match (so the output is valid) or a miss.
  (func $lz4_length (param $op i32) (param $n i32) (result i32)
    (block $done
      (loop $more
        (br_if $done (i32.lt_u (local.get $n) (i32.const 255)))
        (i32.store8 (local.get $op) (i32.const 255))
        (local.set $op (i32.add (local.get $op) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 255)))
        (br $more)))
    (i32.store8 (local.get $op) (local.get $n))
    (i32.add (local.get $op) (i32.const 1)))

  (func $lz4_literals (param $op i32) (param $from i32) (param $lit i32) (param $ml i32) (result i32)
    (i32.store8 (local.get $op)
      (i32.or
        (i32.shl (select (local.get $lit) (i32.const 15) (i32.lt_u (local.get $lit) (i32.const 15))) (i32.const 4))
        (select (local.get $ml) (i32.const 15) (i32.lt_u (local.get $ml) (i32.const 15)))))
    (local.set $op (i32.add (local.get $op) (i32.const 1)))
    (if (i32.ge_u (local.get $lit) (i32.const 15))
      (then (local.set $op (call $lz4_length (local.get $op) (i32.sub (local.get $lit) (i32.const 15))))))
    (memory.copy (local.get $op) (local.get $from) (local.get $lit))
    (i32.add (local.get $op) (local.get $lit)))

  (func (export "lz4_compress") (param $s i32) (param $sEnd i32) (param $op i32) (param $tab i32) (result i32)
    (local $anchor i32) (local $ip i32) (local $mfl i32) (local $mel i32) (local $seq i32)
    (local $slot i32) (local $ref i32) (local $len i32) (local $ml i32) (local $x i64) (local $p i32)
    (local.set $anchor (local.get $s))
    (local.set $ip (local.get $s))
    (local.set $mfl (i32.sub (local.get $sEnd) (i32.const 12)))
    (local.set $mel (i32.sub (local.get $sEnd) (i32.const 5)))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_s (local.get $ip) (local.get $mfl)))
        (local.set $seq (i32.load (local.get $ip)))
        (local.set $slot (i32.add (local.get $tab)
          (i32.shl (i32.shr_u (i32.mul (local.get $seq) (i32.const 0x9e3779b1)) (i32.const 18)) (i32.const 2))))
        (local.set $ref (i32.load (local.get $slot)))
        (i32.store (local.get $slot) (local.get $ip))
        ;; (i32.or evaluates both sides: keep the load behind the range check.)
        (if (if (result i32)
              (i32.or (i32.lt_u (local.get $ref) (local.get $s)) (i32.ge_u (local.get $ref) (local.get $ip)))
              (then (i32.const 1))
              (else (i32.ne (i32.load (local.get $ref)) (local.get $seq))))
          (then
            (local.set $ip (i32.add (local.get $ip)
              (i32.add (i32.const 1) (i32.shr_u (i32.sub (local.get $ip) (local.get $anchor)) (i32.const 6)))))
            (br $scan)))
        (local.set $len (i32.const 4))
        (block $extended
          (loop $wide
            (if (i32.le_s (i32.add (i32.add (local.get $ip) (local.get $len)) (i32.const 8)) (local.get $mel))
              (then
                (local.set $x (i64.xor
                  (i64.load (i32.add (local.get $ip) (local.get $len)))
                  (i64.load (i32.add (local.get $ref) (local.get $len)))))
                (if (i64.eqz (local.get $x))
                  (then
                    (local.set $len (i32.add (local.get $len) (i32.const 8)))
                    (br $wide)))
                (local.set $len (i32.add (local.get $len)
                  (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $x)) (i64.const 3)))))
                (br $extended))))
          (loop $narrow
            (br_if $extended (i32.ge_s (i32.add (local.get $ip) (local.get $len)) (local.get $mel)))
            (br_if $extended (i32.ne
              (i32.load8_u (i32.add (local.get $ip) (local.get $len)))
              (i32.load8_u (i32.add (local.get $ref) (local.get $len)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (br $narrow)))
        (local.set $ml (i32.sub (local.get $len) (i32.const 4)))
        (local.set $op (call $lz4_literals (local.get $op) (local.get $anchor)
          (i32.sub (local.get $ip) (local.get $anchor)) (local.get $ml)))
        (i32.store16 (local.get $op) (i32.sub (local.get $ip) (local.get $ref)))
        (local.set $op (i32.add (local.get $op) (i32.const 2)))
        (if (i32.ge_u (local.get $ml) (i32.const 15))
          (then (local.set $op (call $lz4_length (local.get $op) (i32.sub (local.get $ml) (i32.const 15))))))
        (local.set $ip (i32.add (local.get $ip) (local.get $len)))
        (local.set $anchor (local.get $ip))
        (if (i32.lt_s (local.get $ip) (local.get $mfl))
          (then
            (local.set $p (i32.sub (local.get $ip) (i32.const 2)))
            (i32.store
              (i32.add (local.get $tab)
                (i32.shl (i32.shr_u (i32.mul (i32.load (local.get $p)) (i32.const 0x9e3779b1)) (i32.const 18)) (i32.const 2)))
              (local.get $p))))
        (br $scan)))
    (call $lz4_literals (local.get $op) (local.get $anchor)
      (i32.sub (local.get $sEnd) (local.get $anchor)) (i32.const 0)))

  ;; ---------------------------------------------------------------------------
  ;; Snappy fragment compressor: the matcher of snappy.ts encodeFragment (same
  ;; hash, skip-ahead and element choice) for [s, sEnd) (at most 64 KiB) at `op`,
  ;; returning the end. The table works as for lz4_compress.
  (func $snappy_copy2 (param $op i32) (param $off i32) (param $len i32) (result i32)
    (i32.store8 (local.get $op) (i32.or (i32.const 2) (i32.shl (i32.sub (local.get $len) (i32.const 1)) (i32.const 2))))
    (i32.store16 offset=1 (local.get $op) (local.get $off))
    (i32.add (local.get $op) (i32.const 3)))

  (func $snappy_literal (param $op i32) (param $from i32) (param $len i32) (result i32)
    (local $n i32)
    (if (i32.eqz (local.get $len)) (then (return (local.get $op))))
    (local.set $n (i32.sub (local.get $len) (i32.const 1)))
    (if (i32.lt_u (local.get $n) (i32.const 60))
      (then
        (i32.store8 (local.get $op) (i32.shl (local.get $n) (i32.const 2)))
        (local.set $op (i32.add (local.get $op) (i32.const 1))))
      (else
        (if (i32.lt_u (local.get $n) (i32.const 256))
          (then
            (i32.store8 (local.get $op) (i32.const 240))
            (i32.store8 offset=1 (local.get $op) (local.get $n))
            (local.set $op (i32.add (local.get $op) (i32.const 2))))
          (else
            (i32.store8 (local.get $op) (i32.const 244))
            (i32.store16 offset=1 (local.get $op) (local.get $n))
            (local.set $op (i32.add (local.get $op) (i32.const 3)))))))
    (memory.copy (local.get $op) (local.get $from) (local.get $len))
    (i32.add (local.get $op) (local.get $len)))

  (func (export "snappy_compress") (param $s i32) (param $sEnd i32) (param $op i32) (param $tab i32) (result i32)
    (local $anchor i32) (local $ip i32) (local $searchEnd i32) (local $seq i32)
    (local $slot i32) (local $ref i32) (local $len i32) (local $off i32) (local $x i64) (local $p i32)
    (local.set $anchor (local.get $s))
    (local.set $ip (local.get $s))
    (local.set $searchEnd (i32.sub (local.get $sEnd) (i32.const 4)))
    (block $done
      (loop $scan
        (br_if $done (i32.gt_s (local.get $ip) (local.get $searchEnd)))
        (local.set $seq (i32.load (local.get $ip)))
        (local.set $slot (i32.add (local.get $tab)
          (i32.shl (i32.shr_u (i32.mul (local.get $seq) (i32.const 0x1e35a7bd)) (i32.const 18)) (i32.const 2))))
        (local.set $ref (i32.load (local.get $slot)))
        (i32.store (local.get $slot) (local.get $ip))
        (if (if (result i32)
              (i32.or (i32.lt_u (local.get $ref) (local.get $s)) (i32.ge_u (local.get $ref) (local.get $ip)))
              (then (i32.const 1))
              (else (i32.ne (i32.load (local.get $ref)) (local.get $seq))))
          (then
            (local.set $ip (i32.add (local.get $ip)
              (i32.add (i32.const 1) (i32.shr_u (i32.sub (local.get $ip) (local.get $anchor)) (i32.const 5)))))
            (br $scan)))
        (local.set $len (i32.const 4))
        (block $extended
          (loop $wide
            (if (i32.le_s (i32.add (i32.add (local.get $ip) (local.get $len)) (i32.const 8)) (local.get $sEnd))
              (then
                (local.set $x (i64.xor
                  (i64.load (i32.add (local.get $ip) (local.get $len)))
                  (i64.load (i32.add (local.get $ref) (local.get $len)))))
                (if (i64.eqz (local.get $x))
                  (then
                    (local.set $len (i32.add (local.get $len) (i32.const 8)))
                    (br $wide)))
                (local.set $len (i32.add (local.get $len)
                  (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $x)) (i64.const 3)))))
                (br $extended))))
          (loop $narrow
            (br_if $extended (i32.ge_s (i32.add (local.get $ip) (local.get $len)) (local.get $sEnd)))
            (br_if $extended (i32.ne
              (i32.load8_u (i32.add (local.get $ip) (local.get $len)))
              (i32.load8_u (i32.add (local.get $ref) (local.get $len)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (br $narrow)))
        (local.set $op (call $snappy_literal (local.get $op) (local.get $anchor)
          (i32.sub (local.get $ip) (local.get $anchor))))
        (local.set $off (i32.sub (local.get $ip) (local.get $ref)))
        (local.set $ip (i32.add (local.get $ip) (local.get $len)))
        (local.set $anchor (local.get $ip))
        ;; Copy elements carry at most 64 bytes; leave at least 4 for the last.
        (block $long_done
          (loop $long
            (br_if $long_done (i32.lt_u (local.get $len) (i32.const 68)))
            (local.set $op (call $snappy_copy2 (local.get $op) (local.get $off) (i32.const 64)))
            (local.set $len (i32.sub (local.get $len) (i32.const 64)))
            (br $long)))
        (if (i32.gt_u (local.get $len) (i32.const 64))
          (then
            (local.set $op (call $snappy_copy2 (local.get $op) (local.get $off) (i32.const 60)))
            (local.set $len (i32.sub (local.get $len) (i32.const 60)))))
        (if (i32.and (i32.lt_u (local.get $len) (i32.const 12)) (i32.lt_u (local.get $off) (i32.const 2048)))
          (then
            (i32.store8 (local.get $op) (i32.or
              (i32.or (i32.const 1) (i32.shl (i32.sub (local.get $len) (i32.const 4)) (i32.const 2)))
              (i32.shl (i32.shr_u (local.get $off) (i32.const 8)) (i32.const 5))))
            (i32.store8 offset=1 (local.get $op) (local.get $off))
            (local.set $op (i32.add (local.get $op) (i32.const 2))))
          (else
            (local.set $op (call $snappy_copy2 (local.get $op) (local.get $off) (local.get $len)))))
        (if (i32.le_s (local.get $ip) (local.get $searchEnd))
          (then
            (local.set $p (i32.sub (local.get $ip) (i32.const 1)))
            (i32.store
              (i32.add (local.get $tab)
                (i32.shl (i32.shr_u (i32.mul (i32.load (local.get $p)) (i32.const 0x1e35a7bd)) (i32.const 18)) (i32.const 2)))
              (local.get $p))))
        (br $scan)))
    (call $snappy_literal (local.get $op) (local.get $anchor) (i32.sub (local.get $sEnd) (local.get $anchor))))
)
