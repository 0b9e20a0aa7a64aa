;; The submit step of int16 SIMD inference split around the submit path (kernels/incremental.ts).
;;
;; Memory holds a model exactly as dense-int16.wat does (written by int16-layout.ts; the descriptor fields
;; are listed at the top of dense-int16.wat), followed by the contexts and a pair table. A context is 10
;; rows of layer-0 partial sums, one per digit d of the first submit position: bias0 + the table rows of
;; every input but the submit ones + the first submit position's row for d, unclamped (no ReLU yet). The
;; pair table (LinnOS: pend_now's tens and ones) holds, for each pair of digits of the second and third
;; submit positions, the sum of their two rows.
;;
;; setContext computes a context from a full digit vector whose submit positions the caller has zeroed:
;; digit 0's table row is all zeros, so those positions add nothing. decide adds one more row (the pair
;; table's, or with fewer submit positions a table row or the zero row) to the context row of the first
;; submit digit, applies the ReLU and runs the rest of the network: for LinnOS's 31-256-2 one pass over the
;; 256 units with two loads and one add per vector before the output dot products, nothing stored between.
;; The int16 adds wrap, which is modular, and the plan keeps every unit's final sum in int16, so splitting
;; and regrouping the sum changes no bit of the result (dense-int16.wat's layer 0 relies on the same).
;; $dot4, $hidden and $output are dense-int16.wat's, kept identical (tests compare both modules' outputs
;; bit for bit).
(module
  (memory (export "memory") 1)

  ;; A context: for each unit, bias0 + sum of the chosen rows of all nIn positions (no ReLU), stored 10
  ;; times, the d-th time plus row $first + d * rowBytes (the first submit position's digit-d row).
  ;; Returns 1 when a digit is above 9 (nothing written), else 0.
  ;;
  ;; Only nonzero digits are summed: digit 0's row is all zeros (a LinnOS vector's leading zeros and the
  ;; zeroed submit positions are about half of it). Their row addresses are packed at the front of the
  ;; offsets area, padded to an even count of at least 2 with the table's first row (position 0, digit 0:
  ;; zeros), as the inputs loop takes two rows a turn. The area holds nInPad >= 2 entries and the count
  ;; padded is at most nInPad, so the packing stays inside it.
  (func (export "setContext") (param $x i32) (param $ctx i32) (param $first i32) (result i32)
    (local $nIn i32) (local $rowBytes i32) (local $offsets i32) (local $offsetsEnd i32)
    (local $i i32) (local $digit i32) (local $bad i32) (local $row i32) (local $rowStride i32)
    (local $bias i32) (local $block i32) (local $p i32) (local $r i32) (local $d i32) (local $out i32)
    (local $zeroRow i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $nIn (i32.load (i32.const 0)))
    (local.set $rowBytes (i32.load (i32.const 8)))
    (local.set $offsets (i32.load (i32.const 20)))
    (local.set $row (i32.load (i32.const 12)))
    (local.set $zeroRow (local.get $row))
    (local.set $rowStride (i32.mul (local.get $rowBytes) (i32.const 10)))
    (local.set $p (local.get $offsets))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $nIn)))
        (local.set $digit (i32.load8_u (i32.add (local.get $x) (local.get $i))))
        (local.set $bad (i32.or (local.get $bad) (i32.gt_u (local.get $digit) (i32.const 9))))
        (if (local.get $digit)
          (then
            (i32.store (local.get $p)
              (i32.add (local.get $row) (i32.mul (local.get $digit) (local.get $rowBytes))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))))
        (local.set $row (i32.add (local.get $row) (local.get $rowStride)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (if (local.get $bad) (then (return (i32.const 1))))
    ;; An odd count, or none: pad with the zero row (once for odd, twice for none).
    (if (i32.and (i32.sub (local.get $p) (local.get $offsets)) (i32.const 4))
      (then
        (i32.store (local.get $p) (local.get $zeroRow))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))))
    (if (i32.eq (local.get $p) (local.get $offsets))
      (then
        (i32.store (local.get $p) (local.get $zeroRow))
        (i32.store offset=4 (local.get $p) (local.get $zeroRow))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))))
    (local.set $offsetsEnd (local.get $p))
    (local.set $bias (i32.load (i32.const 16)))
    (loop $blocks
      (local.set $r (i32.add (local.get $bias) (local.get $block)))
      (local.set $a0 (v128.load (local.get $r)))
      (local.set $a1 (v128.load offset=16 (local.get $r)))
      (local.set $a2 (v128.load offset=32 (local.get $r)))
      (local.set $a3 (v128.load offset=48 (local.get $r)))
      (local.set $p (local.get $offsets))
      (loop $inputs
        (local.set $r (i32.add (i32.load (local.get $p)) (local.get $block)))
        (local.set $a0 (i16x8.add (local.get $a0) (v128.load (local.get $r))))
        (local.set $a1 (i16x8.add (local.get $a1) (v128.load offset=16 (local.get $r))))
        (local.set $a2 (i16x8.add (local.get $a2) (v128.load offset=32 (local.get $r))))
        (local.set $a3 (i16x8.add (local.get $a3) (v128.load offset=48 (local.get $r))))
        (local.set $r (i32.add (i32.load offset=4 (local.get $p)) (local.get $block)))
        (local.set $a0 (i16x8.add (local.get $a0) (v128.load (local.get $r))))
        (local.set $a1 (i16x8.add (local.get $a1) (v128.load offset=16 (local.get $r))))
        (local.set $a2 (i16x8.add (local.get $a2) (v128.load offset=32 (local.get $r))))
        (local.set $a3 (i16x8.add (local.get $a3) (v128.load offset=48 (local.get $r))))
        (br_if $inputs
          (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 8))) (local.get $offsetsEnd))))
      ;; The 10 variants of this block: context row d gets the first submit position's digit-d row added.
      (local.set $d (i32.const 0))
      (local.set $r (i32.add (local.get $first) (local.get $block)))
      (local.set $out (i32.add (local.get $ctx) (local.get $block)))
      (loop $variants
        (v128.store (local.get $out) (i16x8.add (local.get $a0) (v128.load (local.get $r))))
        (v128.store offset=16 (local.get $out) (i16x8.add (local.get $a1) (v128.load offset=16 (local.get $r))))
        (v128.store offset=32 (local.get $out) (i16x8.add (local.get $a2) (v128.load offset=32 (local.get $r))))
        (v128.store offset=48 (local.get $out) (i16x8.add (local.get $a3) (v128.load offset=48 (local.get $r))))
        (local.set $r (i32.add (local.get $r) (local.get $rowBytes)))
        (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
        (br_if $variants (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 1))) (i32.const 10))))
      (br_if $blocks
        (i32.lt_u (local.tee $block (i32.add (local.get $block) (i32.const 64))) (local.get $rowBytes))))
    (i32.const 0))

    ;; The decision (0 fast, 1 slow) for context row $ctx (a context's row for the first submit digit) plus
  ;; the row at $pair; both int32 outputs go to scoresPtr. JS calls decideShallow for LinnOS's NN, decideDeep
  ;; when there are hidden layers after the first (NN+1, NN+2).
  ;;
  ;; One hidden layer (LinnOS's NN): layer 0's last rows, ReLU and the output layer in one pass, 32 units
  ;; (four vectors) per iteration. The output rows are rowBytes long here (no hidden layer between).
  (func $fused (export "decideShallow") (param $ctx i32) (param $pair i32) (result i32)
    (local $k i32) (local $n i32) (local $w0 i32) (local $w1 i32) (local $bias i32) (local $scores i32)
    (local $h v128) (local $g v128) (local $c0 v128) (local $c1 v128) (local $o0 i32) (local $o1 i32)
    (local.set $n (i32.load (i32.const 8)))
    (local.set $w0 (i32.load (i32.const 40)))
    (local.set $w1 (i32.add (local.get $w0) (local.get $n)))
    (loop $chunks
      (local.set $h (i16x8.max_s
        (i16x8.add (v128.load (i32.add (local.get $ctx) (local.get $k)))
          (v128.load (i32.add (local.get $pair) (local.get $k))))
        (v128.const i64x2 0 0)))
      (local.set $g (i16x8.max_s
        (i16x8.add (v128.load offset=16 (i32.add (local.get $ctx) (local.get $k)))
          (v128.load offset=16 (i32.add (local.get $pair) (local.get $k))))
        (v128.const i64x2 0 0)))
      (local.set $c0 (i32x4.add (local.get $c0)
        (i32x4.add
          (i32x4.dot_i16x8_s (local.get $h) (v128.load (i32.add (local.get $w0) (local.get $k))))
          (i32x4.dot_i16x8_s (local.get $g) (v128.load offset=16 (i32.add (local.get $w0) (local.get $k)))))))
      (local.set $c1 (i32x4.add (local.get $c1)
        (i32x4.add
          (i32x4.dot_i16x8_s (local.get $h) (v128.load (i32.add (local.get $w1) (local.get $k))))
          (i32x4.dot_i16x8_s (local.get $g) (v128.load offset=16 (i32.add (local.get $w1) (local.get $k)))))))
      (local.set $h (i16x8.max_s
        (i16x8.add (v128.load offset=32 (i32.add (local.get $ctx) (local.get $k)))
          (v128.load offset=32 (i32.add (local.get $pair) (local.get $k))))
        (v128.const i64x2 0 0)))
      (local.set $g (i16x8.max_s
        (i16x8.add (v128.load offset=48 (i32.add (local.get $ctx) (local.get $k)))
          (v128.load offset=48 (i32.add (local.get $pair) (local.get $k))))
        (v128.const i64x2 0 0)))
      (local.set $c0 (i32x4.add (local.get $c0)
        (i32x4.add
          (i32x4.dot_i16x8_s (local.get $h) (v128.load offset=32 (i32.add (local.get $w0) (local.get $k))))
          (i32x4.dot_i16x8_s (local.get $g) (v128.load offset=48 (i32.add (local.get $w0) (local.get $k)))))))
      (local.set $c1 (i32x4.add (local.get $c1)
        (i32x4.add
          (i32x4.dot_i16x8_s (local.get $h) (v128.load offset=32 (i32.add (local.get $w1) (local.get $k))))
          (i32x4.dot_i16x8_s (local.get $g) (v128.load offset=48 (i32.add (local.get $w1) (local.get $k)))))))
      (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 64))) (local.get $n))))
    (local.set $bias (i32.load (i32.const 44)))
    (local.set $o0 (i32.add (i32.load (local.get $bias))
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $c0)) (i32x4.extract_lane 1 (local.get $c0)))
        (i32.add (i32x4.extract_lane 2 (local.get $c0)) (i32x4.extract_lane 3 (local.get $c0))))))
    (local.set $o1 (i32.add (i32.load offset=4 (local.get $bias))
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $c1)) (i32x4.extract_lane 1 (local.get $c1)))
        (i32.add (i32x4.extract_lane 2 (local.get $c1)) (i32x4.extract_lane 3 (local.get $c1))))))
    (local.set $scores (i32.load (i32.const 52)))
    (i32.store (local.get $scores) (local.get $o0))
    (i32.store offset=4 (local.get $scores) (local.get $o1))
    (i32.gt_s (local.get $o1) (local.get $o0)))

  ;; NN+1, NN+2: layer 0 finished into hA, then dense-int16.wat's hidden layers and output layer.
  (func $deep (export "decideDeep") (param $ctx i32) (param $pair i32) (result i32)
    (local $k i32) (local $n i32) (local $cur i32) (local $next i32) (local $swap i32)
    (local $desc i32) (local $descEnd i32)
    (local.set $n (i32.load (i32.const 8)))
    (local.set $cur (i32.load (i32.const 24)))
    (local.set $next (i32.load (i32.const 28)))
    (loop $chunks
      (v128.store (i32.add (local.get $cur) (local.get $k)) (i16x8.max_s
        (i16x8.add (v128.load (i32.add (local.get $ctx) (local.get $k)))
          (v128.load (i32.add (local.get $pair) (local.get $k))))
        (v128.const i64x2 0 0)))
      (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
    (local.set $desc (i32.load (i32.const 36)))
    (local.set $descEnd (i32.add (local.get $desc) (i32.mul (i32.load (i32.const 32)) (i32.const 20))))
    (block $hiddenDone
      (loop $layers
        (br_if $hiddenDone (i32.ge_u (local.get $desc) (local.get $descEnd)))
        (call $hidden (local.get $cur) (local.get $next)
          (i32.load (local.get $desc)) (i32.load offset=4 (local.get $desc)) (i32.load offset=8 (local.get $desc))
          (i32.load offset=12 (local.get $desc)) (i32.load offset=16 (local.get $desc)))
        (local.set $swap (local.get $cur))
        (local.set $cur (local.get $next))
        (local.set $next (local.get $swap))
        (local.set $desc (i32.add (local.get $desc) (i32.const 20)))
        (br $layers)))
    (call $output (local.get $cur)))

  ;; The dot products of $h with 4 consecutive int16 rows of $n bytes at $w, as one i32x4 (row 0 in lane 0).
  (func $dot4 (param $h i32) (param $w i32) (param $n i32) (result v128)
    (local $k i32) (local $w1 i32) (local $w2 i32) (local $w3 i32) (local $hv v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $p01 v128) (local $p23 v128)
    (local.set $w1 (i32.add (local.get $w) (local.get $n)))
    (local.set $w2 (i32.add (local.get $w1) (local.get $n)))
    (local.set $w3 (i32.add (local.get $w2) (local.get $n)))
    (loop $chunks
      (local.set $hv (v128.load (i32.add (local.get $h) (local.get $k))))
      (local.set $c0 (i32x4.add (local.get $c0)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load (i32.add (local.get $w) (local.get $k))))))
      (local.set $c1 (i32x4.add (local.get $c1)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load (i32.add (local.get $w1) (local.get $k))))))
      (local.set $c2 (i32x4.add (local.get $c2)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load (i32.add (local.get $w2) (local.get $k))))))
      (local.set $c3 (i32x4.add (local.get $c3)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load (i32.add (local.get $w3) (local.get $k))))))
      (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
    (local.set $p01 (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c0) (local.get $c1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c0) (local.get $c1))))
    (local.set $p23 (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c2) (local.get $c3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c2) (local.get $c3))))
    (i32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $p01) (local.get $p23))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $p01) (local.get $p23))))

  ;; A hidden layer: out[j] = max(0, (bias[j] + sum_k h[k] * w[j][k]) >> shift) as int16, 8 rows at a time.
  (func $hidden (param $h i32) (param $out i32) (param $w i32) (param $bias i32)
      (param $inBytes i32) (param $outRows i32) (param $shift i32)
    (local $row i32) (local $g0 v128) (local $g1 v128)
    (loop $rows
      (local.set $g0 (i32x4.shr_s
        (i32x4.add (call $dot4 (local.get $h) (local.get $w) (local.get $inBytes)) (v128.load (local.get $bias)))
        (local.get $shift)))
      (local.set $w (i32.add (local.get $w) (i32.shl (local.get $inBytes) (i32.const 2))))
      (local.set $g1 (i32x4.shr_s
        (i32x4.add (call $dot4 (local.get $h) (local.get $w) (local.get $inBytes))
          (v128.load offset=16 (local.get $bias)))
        (local.get $shift)))
      (local.set $w (i32.add (local.get $w) (i32.shl (local.get $inBytes) (i32.const 2))))
      (v128.store (local.get $out)
        (i16x8.max_s (i16x8.narrow_i32x4_s (local.get $g0) (local.get $g1)) (v128.const i64x2 0 0)))
      (local.set $bias (i32.add (local.get $bias) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br_if $rows (i32.lt_u (local.tee $row (i32.add (local.get $row) (i32.const 8))) (local.get $outRows)))))

  ;; The output layer (2 classes): writes both int32 outputs to scoresPtr and returns 1 (slow) iff o1 > o0.
  (func $output (param $h i32) (result i32)
    (local $w0 i32) (local $w1 i32) (local $n i32) (local $k i32) (local $bias i32) (local $scores i32)
    (local $hv v128) (local $c0 v128) (local $c1 v128) (local $o0 i32) (local $o1 i32)
    (local.set $w0 (i32.load (i32.const 40)))
    (local.set $n (i32.load (i32.const 48)))
    (local.set $w1 (i32.add (local.get $w0) (local.get $n)))
    (loop $chunks
      (local.set $hv (v128.load (i32.add (local.get $h) (local.get $k))))
      (local.set $c0 (i32x4.add (local.get $c0)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load (i32.add (local.get $w0) (local.get $k))))))
      (local.set $c1 (i32x4.add (local.get $c1)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load (i32.add (local.get $w1) (local.get $k))))))
      (local.set $hv (v128.load offset=16 (i32.add (local.get $h) (local.get $k))))
      (local.set $c0 (i32x4.add (local.get $c0)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load offset=16 (i32.add (local.get $w0) (local.get $k))))))
      (local.set $c1 (i32x4.add (local.get $c1)
        (i32x4.dot_i16x8_s (local.get $hv) (v128.load offset=16 (i32.add (local.get $w1) (local.get $k))))))
      (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 32))) (local.get $n))))
    (local.set $bias (i32.load (i32.const 44)))
    (local.set $o0 (i32.add (i32.load (local.get $bias))
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $c0)) (i32x4.extract_lane 1 (local.get $c0)))
        (i32.add (i32x4.extract_lane 2 (local.get $c0)) (i32x4.extract_lane 3 (local.get $c0))))))
    (local.set $o1 (i32.add (i32.load offset=4 (local.get $bias))
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $c1)) (i32x4.extract_lane 1 (local.get $c1)))
        (i32.add (i32x4.extract_lane 2 (local.get $c1)) (i32x4.extract_lane 3 (local.get $c1))))))
    (local.set $scores (i32.load (i32.const 52)))
    (i32.store (local.get $scores) (local.get $o0))
    (i32.store offset=4 (local.get $scores) (local.get $o1))
    (i32.gt_s (local.get $o1) (local.get $o0)))
)
