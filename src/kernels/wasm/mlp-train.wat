;; f32x4 SIMD kernels for training dense ReLU networks on digit vectors (LinnOS's 31 digits). Owned by
;; src/learn (src/learn/wasm-mlp.ts lays out the memory and calls these once per layer per sample).
;;
;; All pointers are byte addresses in this module's memory. Hidden layers are stored input-major
;; ([inputs][outputs], one row of outputs per input) and their widths are multiples of 16 floats (64 bytes),
;; so the row loops need no remainder. The output layer is stored class-major ([outputs][inputs]).
;;
;; A "row list" names the nonzero inputs of a layer: 8-byte entries (f32 input value, i32 address of that
;; input's weight row). Zero digits and ReLU-zeroed activations are skipped in the forward pass and in the
;; weight gradient. At most 4 v128 accumulators are live in a loop (more spill in V8).
(module
  (memory (export "memory") 1)

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; dst[0..bytes) += src[0..bytes), bytes a multiple of 16.
  (func $addTo (param $dst i32) (param $src i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (local.get $bytes)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $next))))

  ;; Row list of the nonzero digits of x[0..nIn): value digit * scale, row w + i * rowBytes. Returns the count.
  (func (export "digitList") (param $x i32) (param $nIn i32) (param $scale f32) (param $w i32)
      (param $rowBytes i32) (param $list i32) (result i32)
    (local $i i32) (local $d i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $nIn)))
        (local.set $d (i32.load8_u (i32.add (local.get $x) (local.get $i))))
        (if (local.get $d)
          (then
            (f32.store (local.get $list) (f32.mul (f32.convert_i32_u (local.get $d)) (local.get $scale)))
            (i32.store offset=4 (local.get $list) (local.get $w))
            (local.set $list (i32.add (local.get $list) (i32.const 8)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $w (i32.add (local.get $w) (local.get $rowBytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; Row list of the positive activations a[0..nIn) (f32). Returns the count.
  (func (export "activeList") (param $a i32) (param $nIn i32) (param $w i32) (param $rowBytes i32)
      (param $list i32) (result i32)
    (local $end i32) (local $v f32) (local $n i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $nIn) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $v (f32.load (local.get $a)))
        (if (f32.gt (local.get $v) (f32.const 0))
          (then
            (f32.store (local.get $list) (local.get $v))
            (i32.store offset=4 (local.get $list) (local.get $w))
            (local.set $list (i32.add (local.get $list) (i32.const 8)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $w (i32.add (local.get $w) (local.get $rowBytes)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br $next)))
    (local.get $n))

  ;; z = bias + sum over the row list of value * row, 16 outputs at a time; ReLU when $relu.
  ;; rowBytes (4 * outputs) is a multiple of 64.
  (func (export "rowsSum") (param $list i32) (param $count i32) (param $bias i32) (param $z i32)
      (param $rowBytes i32) (param $relu i32)
    (local $block i32) (local $p i32) (local $end i32) (local $r i32) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $end (i32.add (local.get $list) (i32.shl (local.get $count) (i32.const 3))))
    (loop $blocks
      (local.set $r (i32.add (local.get $bias) (local.get $block)))
      (local.set $a0 (v128.load (local.get $r)))
      (local.set $a1 (v128.load offset=16 (local.get $r)))
      (local.set $a2 (v128.load offset=32 (local.get $r)))
      (local.set $a3 (v128.load offset=48 (local.get $r)))
      (local.set $p (local.get $list))
      (block $rowsDone
        (loop $rows
          (br_if $rowsDone (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $v (f32x4.splat (f32.load (local.get $p))))
          (local.set $r (i32.add (i32.load offset=4 (local.get $p)) (local.get $block)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v) (v128.load (local.get $r)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v) (v128.load offset=16 (local.get $r)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $v) (v128.load offset=32 (local.get $r)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $v) (v128.load offset=48 (local.get $r)))))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br $rows)))
      (if (local.get $relu)
        (then
          (local.set $a0 (f32x4.pmax (local.get $a0) (v128.const i64x2 0 0)))
          (local.set $a1 (f32x4.pmax (local.get $a1) (v128.const i64x2 0 0)))
          (local.set $a2 (f32x4.pmax (local.get $a2) (v128.const i64x2 0 0)))
          (local.set $a3 (f32x4.pmax (local.get $a3) (v128.const i64x2 0 0)))))
      (local.set $r (i32.add (local.get $z) (local.get $block)))
      (v128.store (local.get $r) (local.get $a0))
      (v128.store offset=16 (local.get $r) (local.get $a1))
      (v128.store offset=32 (local.get $r) (local.get $a2))
      (v128.store offset=48 (local.get $r) (local.get $a3))
      (br_if $blocks
        (i32.lt_u (local.tee $block (i32.add (local.get $block) (i32.const 64))) (local.get $rowBytes)))))

  ;; Output layer forward: o[c] = bias[c] + dot(a, w[c]) for c < nOut; w class-major with rows of inBytes
  ;; (a multiple of 64).
  (func (export "outForward") (param $a i32) (param $inBytes i32) (param $w i32) (param $bias i32)
      (param $o i32) (param $nOut i32)
    (local $c i32) (local $k i32) (local $r i32) (local $s i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $done
      (loop $classes
        (br_if $done (i32.ge_u (local.get $c) (local.get $nOut)))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0))
        (local.set $a3 (v128.const i64x2 0 0))
        (local.set $k (i32.const 0))
        (loop $chunks
          (local.set $r (i32.add (local.get $w) (local.get $k)))
          (local.set $s (i32.add (local.get $a) (local.get $k)))
          (local.set $a0 (f32x4.add (local.get $a0)
            (f32x4.mul (v128.load (local.get $s)) (v128.load (local.get $r)))))
          (local.set $a1 (f32x4.add (local.get $a1)
            (f32x4.mul (v128.load offset=16 (local.get $s)) (v128.load offset=16 (local.get $r)))))
          (local.set $a2 (f32x4.add (local.get $a2)
            (f32x4.mul (v128.load offset=32 (local.get $s)) (v128.load offset=32 (local.get $r)))))
          (local.set $a3 (f32x4.add (local.get $a3)
            (f32x4.mul (v128.load offset=48 (local.get $s)) (v128.load offset=48 (local.get $r)))))
          (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 64))) (local.get $inBytes))))
        (f32.store (local.get $o)
          (f32.add (f32.load (local.get $bias))
            (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
              (f32x4.add (local.get $a2) (local.get $a3))))))
        (local.set $w (i32.add (local.get $w) (local.get $inBytes)))
        (local.set $bias (i32.add (local.get $bias) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $classes))))

  ;; Output layer backward, given g[c] = dLoss/do[c]: gb[c] += g[c]; gw[c] += g[c] * a; and the gradient at
  ;; the layer below, below[k] = a[k] > 0 ? sum_c g[c] * w[c][k] : 0 (the ReLU's derivative).
  (func (export "outBackward") (param $a i32) (param $inBytes i32) (param $w i32) (param $gw i32)
      (param $gb i32) (param $g i32) (param $nOut i32) (param $below i32)
    (local $c i32) (local $k i32) (local $r i32) (local $gc f32) (local $v v128) (local $s v128)
    (local $rowW i32)
    (block $done
      (loop $classes
        (br_if $done (i32.ge_u (local.get $c) (local.get $nOut)))
        (local.set $gc (f32.load (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 2)))))
        (if (f32.ne (local.get $gc) (f32.const 0))
          (then
            (local.set $r (i32.add (local.get $gb) (i32.shl (local.get $c) (i32.const 2))))
            (f32.store (local.get $r) (f32.add (f32.load (local.get $r)) (local.get $gc)))
            (local.set $v (f32x4.splat (local.get $gc)))
            (local.set $r (i32.add (local.get $gw) (i32.mul (local.get $c) (local.get $inBytes))))
            (local.set $k (i32.const 0))
            (loop $chunks
              (v128.store (i32.add (local.get $r) (local.get $k))
                (f32x4.add (v128.load (i32.add (local.get $r) (local.get $k)))
                  (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $a) (local.get $k))))))
              (br_if $chunks
                (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $inBytes))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $classes)))
    (local.set $k (i32.const 0))
    (loop $chunks
      (local.set $s (v128.const i64x2 0 0))
      (local.set $rowW (i32.add (local.get $w) (local.get $k)))
      (local.set $c (i32.const 0))
      (block $sumDone
        (loop $sum
          (br_if $sumDone (i32.ge_u (local.get $c) (local.get $nOut)))
          (local.set $s (f32x4.add (local.get $s)
            (f32x4.mul
              (f32x4.splat (f32.load (i32.add (local.get $g) (i32.shl (local.get $c) (i32.const 2)))))
              (v128.load (local.get $rowW)))))
          (local.set $rowW (i32.add (local.get $rowW) (local.get $inBytes)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $sum)))
      (v128.store (i32.add (local.get $below) (local.get $k))
        (v128.and (local.get $s)
          (f32x4.gt (v128.load (i32.add (local.get $a) (local.get $k))) (v128.const i64x2 0 0))))
      (br_if $chunks (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $inBytes)))))

  ;; Hidden layer backward (input-major weights at $w, rows of rowBytes), given delta (rowBytes) and the row
  ;; list of its positive inputs from the forward pass: gb += delta; for each listed input k,
  ;; gw[k] += a[k] * delta and below[k] = dot(w[k], delta); below is zero elsewhere (ReLU). gw = w + gwShift.
  (func (export "hiddenBackward") (param $list i32) (param $count i32) (param $w i32) (param $gwShift i32)
      (param $gb i32) (param $delta i32) (param $rowBytes i32) (param $below i32) (param $belowBytes i32)
    (local $end i32) (local $r i32) (local $g i32) (local $j i32) (local $v v128)
    (local $d0 v128) (local $d1 v128) (local $s0 v128) (local $s1 v128)
    (call $addTo (local.get $gb) (local.get $delta) (local.get $rowBytes))
    (memory.fill (local.get $below) (i32.const 0) (local.get $belowBytes))
    (local.set $end (i32.add (local.get $list) (i32.shl (local.get $count) (i32.const 3))))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $list) (local.get $end)))
        (local.set $v (f32x4.splat (f32.load (local.get $list))))
        (local.set $r (i32.load offset=4 (local.get $list)))
        (local.set $g (i32.add (local.get $r) (local.get $gwShift)))
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $s1 (v128.const i64x2 0 0))
        (local.set $j (i32.const 0))
        (loop $chunks
          (local.set $d0 (v128.load (i32.add (local.get $delta) (local.get $j))))
          (local.set $d1 (v128.load offset=16 (i32.add (local.get $delta) (local.get $j))))
          (v128.store (i32.add (local.get $g) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $g) (local.get $j))) (f32x4.mul (local.get $v) (local.get $d0))))
          (v128.store offset=16 (i32.add (local.get $g) (local.get $j))
            (f32x4.add (v128.load offset=16 (i32.add (local.get $g) (local.get $j)))
              (f32x4.mul (local.get $v) (local.get $d1))))
          (local.set $s0 (f32x4.add (local.get $s0)
            (f32x4.mul (v128.load (i32.add (local.get $r) (local.get $j))) (local.get $d0))))
          (local.set $s1 (f32x4.add (local.get $s1)
            (f32x4.mul (v128.load offset=16 (i32.add (local.get $r) (local.get $j))) (local.get $d1))))
          (br_if $chunks (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 32))) (local.get $rowBytes))))
        (f32.store
          (i32.add (local.get $below)
            (i32.shl (i32.div_u (i32.sub (local.get $r) (local.get $w)) (local.get $rowBytes)) (i32.const 2)))
          (call $hsum (f32x4.add (local.get $s0) (local.get $s1))))
        (local.set $list (i32.add (local.get $list) (i32.const 8)))
        (br $entries))))

  ;; First layer backward: gb += delta; gw[i] += value * delta for each listed digit (gw = row + gwShift).
  (func (export "digitsBackward") (param $list i32) (param $count i32) (param $gwShift i32) (param $gb i32)
      (param $delta i32) (param $rowBytes i32)
    (local $end i32) (local $g i32) (local $j i32) (local $v v128) (local $p i32) (local $q i32)
    (call $addTo (local.get $gb) (local.get $delta) (local.get $rowBytes))
    (local.set $end (i32.add (local.get $list) (i32.shl (local.get $count) (i32.const 3))))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $list) (local.get $end)))
        (local.set $v (f32x4.splat (f32.load (local.get $list))))
        (local.set $g (i32.add (i32.load offset=4 (local.get $list)) (local.get $gwShift)))
        (local.set $j (i32.const 0))
        (loop $chunks
          (local.set $p (i32.add (local.get $g) (local.get $j)))
          (local.set $q (i32.add (local.get $delta) (local.get $j)))
          (v128.store (local.get $p)
            (f32x4.add (v128.load (local.get $p)) (f32x4.mul (local.get $v) (v128.load (local.get $q)))))
          (v128.store offset=16 (local.get $p)
            (f32x4.add (v128.load offset=16 (local.get $p)) (f32x4.mul (local.get $v) (v128.load offset=16 (local.get $q)))))
          (v128.store offset=32 (local.get $p)
            (f32x4.add (v128.load offset=32 (local.get $p)) (f32x4.mul (local.get $v) (v128.load offset=32 (local.get $q)))))
          (v128.store offset=48 (local.get $p)
            (f32x4.add (v128.load offset=48 (local.get $p)) (f32x4.mul (local.get $v) (v128.load offset=48 (local.get $q)))))
          (br_if $chunks (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 64))) (local.get $rowBytes))))
        (local.set $list (i32.add (local.get $list) (i32.const 8)))
        (br $entries))))

  ;; Adam over bytes/4 parameters (bytes a multiple of 16), Keras's form with lrT = lr sqrt(1-b2^t)/(1-b1^t):
  ;; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lrT m / (sqrt(v) + eps).
  (func (export "adam") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $bytes i32)
      (param $lrT f32) (param $b1 f32) (param $b2 f32) (param $eps f32)
    (local $k i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $sb1 v128) (local $sb2 v128) (local $sc1 v128) (local $sc2 v128) (local $slr v128) (local $seps v128)
    (local.set $sb1 (f32x4.splat (local.get $b1)))
    (local.set $sb2 (f32x4.splat (local.get $b2)))
    (local.set $sc1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $sc2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $slr (f32x4.splat (local.get $lrT)))
    (local.set $seps (f32x4.splat (local.get $eps)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $bytes)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $k))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $sb1) (v128.load (i32.add (local.get $m) (local.get $k))))
          (f32x4.mul (local.get $sc1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $sb2) (v128.load (i32.add (local.get $v) (local.get $k))))
          (f32x4.mul (local.get $sc2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store (i32.add (local.get $m) (local.get $k)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $k)) (local.get $vv))
        (v128.store (i32.add (local.get $p) (local.get $k))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $k)))
            (f32x4.div (f32x4.mul (local.get $slr) (local.get $mv))
              (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $seps)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $next))))
)
