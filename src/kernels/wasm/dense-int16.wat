;; int16 SIMD inference for LinnOS-style dense networks whose inputs are decimal digits 0-9.
;;
;; The JS side (int16-layout.ts) quantises a model and writes it, and a descriptor of where each part lies,
;; into this module's memory. Every width is padded to a multiple of 32 units (64 bytes of int16) so that the
;; loops below never need a remainder.
;;
;; Layer 0 takes no multiplications: a table holds, for each input position i and digit d, the column
;; d * W0[.][i] quantised to int16, so h = bias0 + sum_i table[i][x[i]] is a sum of 31 rows. The sums use
;; wrapping int16 adds; the per-unit scales are chosen so that the final sum of every unit fits in int16 for
;; every possible input, which makes wrap-around in the partial sums harmless (modular arithmetic).
;; Later layers use i32x4.dot_i16x8_s with int32 accumulators; weights are scaled so that no sum can exceed
;; int32. Hidden layers shift their int32 sums right by a per-layer amount and narrow them back to int16.
;; At most 4 v128 accumulators are live in a loop and loops are unrolled at most twice: more spills in V8.
;;
;; Descriptor, i32 fields at address 0:
;;   0  nIn            real inputs per vector (digits, one byte each)
;;   4  nInPad         input positions including padding (even); padding offsets point at a zero row
;;   8  rowBytes       bytes per table row = 2 * width of layer 0 (a multiple of 64)
;;  12  tablePtr       table row (i, d) starts at tablePtr + (i * 10 + d) * rowBytes
;;  16  bias0Ptr       int16 x width of layer 0
;;  20  offsetsPtr     i32 x nInPad: the row chosen for each input position (scratch)
;;  24  hA             int16 activations (scratch)
;;  28  hB             int16 activations (scratch)
;;  32  hiddenCount    number of 256x256-style hidden layers after layer 0
;;  36  hiddenDescPtr  per hidden layer 5 i32: weightsPtr, biasPtr (i32), inBytes, outRows, shift
;;  40  outWPtr        int16 [2][outInBytes / 2], class-major
;;  44  outBiasPtr     i32 x 2
;;  48  outInBytes     bytes of one output row (a multiple of 64)
;;  52  scoresPtr      the two int32 outputs of the last prediction are written here
;;  56  inputPtr       the digits of a batch-1 prediction
(module
  (memory (export "memory") 1)

  ;; Layer 0: writes max(0, h) for every unit to $h. Returns 1 when a digit is above 9 (nothing written), else 0.
  (func $layer0 (param $x i32) (param $h i32) (result i32)
    (local $nIn i32) (local $rowBytes i32) (local $offsets i32) (local $offsetsEnd i32)
    (local $i i32) (local $digit i32) (local $bad i32) (local $row i32) (local $rowStride i32)
    (local $bias i32) (local $block i32) (local $p i32) (local $r i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $nIn (i32.load (i32.const 0)))
    (local.set $rowBytes (i32.load (i32.const 8)))
    (local.set $offsets (i32.load (i32.const 20)))
    (local.set $row (i32.load (i32.const 12)))
    (local.set $rowStride (i32.mul (local.get $rowBytes) (i32.const 10)))
    ;; The row of each input position, and whether any digit is out of range.
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $nIn)))
        (local.set $digit (i32.load8_u (i32.add (local.get $x) (local.get $i))))
        (local.set $bad (i32.or (local.get $bad) (i32.gt_u (local.get $digit) (i32.const 9))))
        (i32.store
          (i32.add (local.get $offsets) (i32.shl (local.get $i) (i32.const 2)))
          (i32.add (local.get $row) (i32.mul (local.get $digit) (local.get $rowBytes))))
        (local.set $row (i32.add (local.get $row) (local.get $rowStride)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (if (local.get $bad) (then (return (i32.const 1))))
    (local.set $offsetsEnd
      (i32.add (local.get $offsets) (i32.shl (i32.load (i32.const 4)) (i32.const 2))))
    (local.set $bias (i32.load (i32.const 16)))
    ;; 32 units (4 vectors) at a time, summing the chosen rows of two input positions per iteration.
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
      (local.set $r (i32.add (local.get $h) (local.get $block)))
      (v128.store (local.get $r) (i16x8.max_s (local.get $a0) (v128.const i64x2 0 0)))
      (v128.store offset=16 (local.get $r) (i16x8.max_s (local.get $a1) (v128.const i64x2 0 0)))
      (v128.store offset=32 (local.get $r) (i16x8.max_s (local.get $a2) (v128.const i64x2 0 0)))
      (v128.store offset=48 (local.get $r) (i16x8.max_s (local.get $a3) (v128.const i64x2 0 0)))
      (br_if $blocks
        (i32.lt_u (local.tee $block (i32.add (local.get $block) (i32.const 64))) (local.get $rowBytes))))
    (i32.const 0))

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
    ;; Transpose-and-add: p01 = (c0[0]+c0[2], c1[0]+c1[2], c0[1]+c0[3], c1[1]+c1[3]), likewise p23.
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

  ;; One vector of digits at $x: the decision (0 fast, 1 slow), or -1 when a digit is above 9.
  (func $run (param $x i32) (result i32)
    (local $cur i32) (local $next i32) (local $swap i32) (local $desc i32) (local $descEnd i32)
    (local.set $cur (i32.load (i32.const 24)))
    (local.set $next (i32.load (i32.const 28)))
    (if (call $layer0 (local.get $x) (local.get $cur)) (then (return (i32.const -1))))
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

  ;; Batch 1: the digits are already at inputPtr.
  (func (export "predict") (result i32)
    (call $run (i32.load (i32.const 56))))

  ;; One vector of digits anywhere in memory.
  (func (export "predictAt") (param $x i32) (result i32)
    (call $run (local.get $x)))

  ;; $n vectors of nIn digit bytes from $x; one decision byte per vector to $out. Returns -1, or the index
  ;; of the first vector holding a digit above 9 (decisions before it are written).
  (func (export "predictBatch") (param $x i32) (param $n i32) (param $out i32) (result i32)
    (local $v i32) (local $result i32) (local $nIn i32)
    (local.set $nIn (i32.load (i32.const 0)))
    (block $done
      (loop $vectors
        (br_if $done (i32.ge_u (local.get $v) (local.get $n)))
        (local.set $result (call $run (local.get $x)))
        (if (i32.lt_s (local.get $result) (i32.const 0)) (then (return (local.get $v))))
        (i32.store8 (i32.add (local.get $out) (local.get $v)) (local.get $result))
        (local.set $x (i32.add (local.get $x) (local.get $nIn)))
        (local.set $v (i32.add (local.get $v) (i32.const 1)))
        (br $vectors)))
    (i32.const -1))
)
