/*
 * The native reference of `lake bench inference` (src/bench/native-reference.ts compiles it at run time
 * with -O3 -march=native into a temporary directory and removes it after the run).
 *
 * Two batch-1 forwards of LinnOS's 31-WIDTH-2 network on the same weights lake serves:
 * - int16: the int16 plan of lake's wasm backend (src/kernels/wasm/int16-plan.ts): layer 0 as a sum of
 *   table rows (digit d at input i) with wrapping 16-bit adds, ReLU, then both int32 output dot products.
 *   With AVX-512BW, AVX2 or SSE2 (the widest -march=native enables) each vector of units is summed in a
 *   register and multiply-added at once (pmaddwd), as lake's WASM kernel does with 128-bit vectors; elsewhere
 *   plain loops. The bench also builds it with -mno-avx on x86-64: SSE2, the vector width WASM has. Its raw outputs equal lake's wasm backend bit for bit (checked before every timing).
 * - int64: LinnOS's own kernel arithmetic (the `long` loops of its C: h[j] = max(0, b0[j] + sum_i x[i] *
 *   W0T[j][i]), o[c] = b1[c] + sum_k h[k] * W1T[c][k]); raw outputs equal lake's exact backend.
 *
 * Usage: linnos-int16 MODEL VECTORS check                 raw outputs of every vector, as JSON
 *        linnos-int16 MODEL VECTORS time SAMPLES MS CLOCK ns per prediction of SAMPLES runs of ~MS ms each,
 *                                                        JSON; CLOCK wall (CLOCK_MONOTONIC) or cpu
 *                                                        (CLOCK_PROCESS_CPUTIME_ID, as process.cpuUsage)
 * MODEL (little-endian, as src/bench/native-reference.ts writes it): int16 table[INPUTS*10][WIDTH],
 * int16 bias0[WIDTH], int16 out[2][WIDTH], int32 outBias[2], int64 w0[WIDTH][INPUTS], int64 b0[WIDTH],
 * int64 w1[2][WIDTH], int64 b1[2]. VECTORS: digits, INPUTS bytes per vector.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef WIDTH
#error "compile with -DWIDTH=<padded hidden width> -DINPUTS=<digits per vector>"
#endif

static int16_t table[INPUTS * 10][WIDTH] __attribute__((aligned(64)));
static int16_t bias0[WIDTH] __attribute__((aligned(64)));
static int16_t outw[2][WIDTH] __attribute__((aligned(64)));
static int32_t outBias[2];
static int64_t w0[WIDTH][INPUTS];
static int64_t b0[WIDTH];
static int64_t w1[2][WIDTH];
static int64_t b1[2];
static uint8_t *vectors;
static size_t count;

#if defined(__AVX512BW__) || defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#if defined(__AVX512BW__)
/* 32 units per 512-bit vector: sum the 31 chosen rows in a register, ReLU, multiply-add into int32 lanes. */
static int forward_int16(const uint8_t *x, int32_t *out) {
  const int16_t *rows[INPUTS];
  for (int i = 0; i < INPUTS; i++) rows[i] = table[i * 10 + x[i]];
  __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
  for (int j = 0; j < WIDTH; j += 32) {
    __m512i a = _mm512_load_si512((const void *)&bias0[j]);
    for (int i = 0; i < INPUTS; i++) a = _mm512_add_epi16(a, _mm512_loadu_si512((const void *)&rows[i][j]));
    a = _mm512_max_epi16(a, _mm512_setzero_si512());
    c0 = _mm512_add_epi32(c0, _mm512_madd_epi16(a, _mm512_load_si512((const void *)&outw[0][j])));
    c1 = _mm512_add_epi32(c1, _mm512_madd_epi16(a, _mm512_load_si512((const void *)&outw[1][j])));
  }
  out[0] = _mm512_reduce_add_epi32(c0) + outBias[0];
  out[1] = _mm512_reduce_add_epi32(c1) + outBias[1];
  return out[1] > out[0];
}
#elif defined(__AVX2__)
/* 32 units (two 256-bit vectors) per step, as above; WIDTH is a multiple of 32 (int16-plan.ts pads it). */
static int forward_int16(const uint8_t *x, int32_t *out) {
  const int16_t *rows[INPUTS];
  for (int i = 0; i < INPUTS; i++) rows[i] = table[i * 10 + x[i]];
  const __m256i zero = _mm256_setzero_si256();
  __m256i c0 = zero, c1 = zero;
  for (int j = 0; j < WIDTH; j += 32) {
    __m256i a = _mm256_load_si256((const __m256i *)&bias0[j]);
    __m256i b = _mm256_load_si256((const __m256i *)&bias0[j + 16]);
    for (int i = 0; i < INPUTS; i++) {
      a = _mm256_add_epi16(a, _mm256_loadu_si256((const __m256i *)&rows[i][j]));
      b = _mm256_add_epi16(b, _mm256_loadu_si256((const __m256i *)&rows[i][j + 16]));
    }
    a = _mm256_max_epi16(a, zero);
    b = _mm256_max_epi16(b, zero);
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(a, _mm256_load_si256((const __m256i *)&outw[0][j])));
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(b, _mm256_load_si256((const __m256i *)&outw[0][j + 16])));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(a, _mm256_load_si256((const __m256i *)&outw[1][j])));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(b, _mm256_load_si256((const __m256i *)&outw[1][j + 16])));
  }
  int32_t l0[8], l1[8];
  _mm256_storeu_si256((__m256i *)l0, c0);
  _mm256_storeu_si256((__m256i *)l1, c1);
  int32_t o0 = outBias[0], o1 = outBias[1];
  for (int k = 0; k < 8; k++) {
    o0 += l0[k];
    o1 += l1[k];
  }
  out[0] = o0;
  out[1] = o1;
  return o1 > o0;
}
#elif defined(__SSE2__)
/* 32 units (four 128-bit vectors) per step, as above: the vector width and blocking of lake's WASM kernel. */
static int forward_int16(const uint8_t *x, int32_t *out) {
  const int16_t *rows[INPUTS];
  for (int i = 0; i < INPUTS; i++) rows[i] = table[i * 10 + x[i]];
  const __m128i zero = _mm_setzero_si128();
  __m128i c0 = zero, c1 = zero;
  for (int j = 0; j < WIDTH; j += 32) {
    __m128i a[4];
    for (int v = 0; v < 4; v++) a[v] = _mm_load_si128((const __m128i *)&bias0[j + 8 * v]);
    for (int i = 0; i < INPUTS; i++) {
      for (int v = 0; v < 4; v++) a[v] = _mm_add_epi16(a[v], _mm_loadu_si128((const __m128i *)&rows[i][j + 8 * v]));
    }
    for (int v = 0; v < 4; v++) {
      __m128i h = _mm_max_epi16(a[v], zero);
      c0 = _mm_add_epi32(c0, _mm_madd_epi16(h, _mm_load_si128((const __m128i *)&outw[0][j + 8 * v])));
      c1 = _mm_add_epi32(c1, _mm_madd_epi16(h, _mm_load_si128((const __m128i *)&outw[1][j + 8 * v])));
    }
  }
  int32_t l0[4], l1[4];
  _mm_storeu_si128((__m128i *)l0, c0);
  _mm_storeu_si128((__m128i *)l1, c1);
  out[0] = l0[0] + l0[1] + l0[2] + l0[3] + outBias[0];
  out[1] = l1[0] + l1[1] + l1[2] + l1[3] + outBias[1];
  return out[1] > out[0];
}
#else
/* Portable: the same arithmetic in plain loops (16-bit adds wrap as the SIMD ones do). */
static int forward_int16(const uint8_t *x, int32_t *out) {
  uint16_t h[WIDTH];
  memcpy(h, bias0, sizeof h);
  for (int i = 0; i < INPUTS; i++) {
    const int16_t *row = table[i * 10 + x[i]];
    for (int j = 0; j < WIDTH; j++) h[j] = (uint16_t)(h[j] + (uint16_t)row[j]);
  }
  int32_t o0 = 0, o1 = 0;
  for (int j = 0; j < WIDTH; j++) {
    int32_t v = (int16_t)h[j];
    v = v > 0 ? v : 0;
    o0 += v * outw[0][j];
    o1 += v * outw[1][j];
  }
  out[0] = o0 + outBias[0];
  out[1] = o1 + outBias[1];
  return out[1] > out[0];
}
#endif

static int forward_int64(const uint8_t *x, int64_t *out) {
  int64_t h[WIDTH];
  for (int j = 0; j < WIDTH; j++) {
    int64_t sum = b0[j];
    for (int i = 0; i < INPUTS; i++) sum += (int64_t)x[i] * w0[j][i];
    h[j] = sum > 0 ? sum : 0;
  }
  int64_t o0 = b1[0], o1 = b1[1];
  for (int k = 0; k < WIDTH; k++) {
    o0 += h[k] * w1[0][k];
    o1 += h[k] * w1[1][k];
  }
  out[0] = o0;
  out[1] = o1;
  return o1 > o0;
}

static void fail(const char *what, const char *path) {
  fprintf(stderr, "linnos-int16: %s: %s\n", path, what);
  exit(2);
}

static void read_all(FILE *f, void *into, size_t bytes, const char *path) {
  if (fread(into, 1, bytes, f) != bytes) fail("shorter than the model it must hold", path);
}

static void load(const char *modelPath, const char *vectorsPath) {
  FILE *f = fopen(modelPath, "rb");
  if (f == NULL) fail("cannot open", modelPath);
  read_all(f, table, sizeof table, modelPath);
  read_all(f, bias0, sizeof bias0, modelPath);
  read_all(f, outw, sizeof outw, modelPath);
  read_all(f, outBias, sizeof outBias, modelPath);
  read_all(f, w0, sizeof w0, modelPath);
  read_all(f, b0, sizeof b0, modelPath);
  read_all(f, w1, sizeof w1, modelPath);
  read_all(f, b1, sizeof b1, modelPath);
  if (fgetc(f) != EOF) fail("longer than the model it must hold", modelPath);
  fclose(f);
  f = fopen(vectorsPath, "rb");
  if (f == NULL) fail("cannot open", vectorsPath);
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (bytes <= 0 || bytes % INPUTS != 0) fail("does not hold whole vectors", vectorsPath);
  vectors = malloc((size_t)bytes);
  if (vectors == NULL) fail("out of memory", vectorsPath);
  read_all(f, vectors, (size_t)bytes, vectorsPath);
  fclose(f);
  count = (size_t)bytes / INPUTS;
  for (long i = 0; i < bytes; i++)
    if (vectors[i] > 9) fail("holds a value that is not a digit", vectorsPath);
}

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(clock_id, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static volatile int64_t sink;

/* ns for `calls` predictions of one kernel, one vector after another. */
static double run(int kernel, long calls) {
  int32_t o16[2];
  int64_t o64[2];
  int64_t decisions = 0;
  double start = now_ns();
  for (long c = 0; c < calls; c++) {
    const uint8_t *x = vectors + (size_t)(c % (long)count) * INPUTS;
    decisions += kernel == 0 ? forward_int16(x, o16) : forward_int64(x, o64);
  }
  double elapsed = now_ns() - start;
  sink += decisions;
  return elapsed;
}

/* As src/bench/inference.ts times lake's kernels: calibrate, one warm run, then `samples` runs. */
static void time_kernel(int kernel, int samples, double runMs) {
  long calls = 1;
  double elapsed = run(kernel, calls);
  while (elapsed < runMs * 1e6 / 5) {
    calls *= 2;
    elapsed = run(kernel, calls);
  }
  calls = (long)(calls * runMs * 1e6 / elapsed) + 1;
  run(kernel, calls);
  for (int s = 0; s < samples; s++) printf("%s%.3f", s == 0 ? "" : ",", run(kernel, calls) / (double)calls);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL VECTORS check | time SAMPLES MS wall|cpu\n", argv[0]);
    return 64;
  }
  load(argv[1], argv[2]);
  if (strcmp(argv[3], "check") == 0) {
    int32_t o16[2];
    int64_t o64[2];
    printf("{\"int16\":[");
    for (size_t v = 0; v < count; v++) {
      forward_int16(vectors + v * INPUTS, o16);
      printf("%s%d,%d", v == 0 ? "" : ",", o16[0], o16[1]);
    }
    printf("],\"int64\":[");
    for (size_t v = 0; v < count; v++) {
      forward_int64(vectors + v * INPUTS, o64);
      printf("%s%lld,%lld", v == 0 ? "" : ",", (long long)o64[0], (long long)o64[1]);
    }
    printf("]}\n");
    return 0;
  }
  if (strcmp(argv[3], "time") == 0 && argc == 7) {
    int samples = atoi(argv[4]);
    double runMs = atof(argv[5]);
    int cpu = strcmp(argv[6], "cpu") == 0;
    if (samples < 1 || !(runMs > 0) || (!cpu && strcmp(argv[6], "wall") != 0)) {
      fprintf(stderr, "linnos-int16: SAMPLES must be >= 1, MS > 0 and CLOCK wall or cpu\n");
      return 64;
    }
    if (cpu) clock_id = CLOCK_PROCESS_CPUTIME_ID;
    printf("{\"int16\":[");
    time_kernel(0, samples, runMs);
    printf("],\"int64\":[");
    time_kernel(1, samples, runMs);
    printf("],\"sink\":%lld}\n", (long long)sink);
    return 0;
  }
  fprintf(stderr, "linnos-int16: unknown mode %s\n", argv[3]);
  return 64;
}
