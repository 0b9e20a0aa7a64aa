// lake_io: an optional N-API addon giving lake's real-device replay an io_uring submission/completion ring
// (raw syscalls, no liburing), aligned buffers for O_DIRECT, and a monotonic microsecond clock.
//
// Why io_uring rather than pread on a thread pool: on the 2-vCPU VMs lake runs on, waking a sleeping
// thread costs ~14 us (measured with a condvar ping-pong), which alone exceeds the 5 us per-I/O overhead
// budget; io_uring submits from the calling thread (one syscall per batch) and its completions are read
// from shared memory, so the only waits left are the device's.
//
// The JS side (src/realdev/uring.ts) owns all policy: which I/O goes where and when. This file only moves
// bytes: submit(batch) -> timestamp, wait(until, spin) -> completions. Reads land in one shared aligned
// buffer and writes come from another (their contents are never looked at: a replayer measures latency).
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

namespace {

double NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

int SysSetup(unsigned entries, struct io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}

int SysEnter(int fd, unsigned submit, unsigned min_complete, unsigned flags, const void* arg, size_t argsz) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, submit, min_complete, flags, arg, argsz));
}

struct Ring {
  int fd = -1;
  unsigned sq_entries = 0;
  unsigned cq_entries = 0;
  // SQ ring
  void* sq_map = nullptr;
  size_t sq_map_size = 0;
  unsigned* sq_head = nullptr;
  unsigned* sq_tail = nullptr;
  unsigned* sq_mask = nullptr;
  unsigned* sq_array = nullptr;
  unsigned* sq_flags = nullptr;
  bool sqpoll = false;
  bool taskrun_flag = false;
  // Completions run only in io_uring_enter with GETEVENTS (IORING_SETUP_DEFER_TASKRUN).
  bool deferred = false;
  struct io_uring_sqe* sqes = nullptr;
  size_t sqes_size = 0;
  // CQ ring (may share the SQ mapping)
  void* cq_map = nullptr;
  size_t cq_map_size = 0;
  unsigned* cq_head = nullptr;
  unsigned* cq_tail = nullptr;
  unsigned* cq_mask = nullptr;
  struct io_uring_cqe* cqes = nullptr;
  // Buffers
  void* read_buf = nullptr;
  void* write_buf = nullptr;
  size_t buf_bytes = 0;
  // Shared arrays with JS (kept alive by references)
  double* submissions = nullptr;
  size_t submissions_len = 0;
  double* completions = nullptr;
  size_t completions_len = 0;
  napi_ref submissions_ref = nullptr;
  napi_ref completions_ref = nullptr;
  unsigned in_flight = 0;
  // Adaptive spin (see Wait): the most a wait spins now, us; starts at the caller's spin.
  double spin_budget_us = 1e18;
  bool fixed_buffers = false;
  bool closed = false;
};

void Unmap(Ring* r) {
  if (r->sqes != nullptr) munmap(r->sqes, r->sqes_size);
  if (r->cq_map != nullptr && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_map_size);
  if (r->sq_map != nullptr) munmap(r->sq_map, r->sq_map_size);
  if (r->fd >= 0) close(r->fd);
  free(r->read_buf);
  free(r->write_buf);
  r->sqes = nullptr;
  r->cq_map = nullptr;
  r->sq_map = nullptr;
  r->fd = -1;
  r->read_buf = nullptr;
  r->write_buf = nullptr;
}

// Returns 0 or -errno.
int Setup(Ring* r, unsigned entries, bool sqpoll) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE;
  if (sqpoll) {
    // A kernel thread takes submissions from the ring: no system call per batch. It sleeps after 50 ms idle.
    p.flags |= IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 50;
  }
  r->sqpoll = sqpoll;
  p.cq_entries = entries * 2;
  if (!sqpoll) {
    // Completions wait for the engine to enter the kernel rather than interrupting it (an IPI costs a VM
    // exit); the kernel raises IORING_SQ_TASKRUN when they do, and the engine's spin looks at that flag.
    // Linux 6.1+: completions are deferred further, to the engine's next io_uring_enter with GETEVENTS
    // (run in one batch there, on the engine's thread, which is the ring's only submitter).
    p.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER |
               IORING_SETUP_DEFER_TASKRUN;
  }
  int fd = SysSetup(entries, &p);
  if (fd < 0 && errno == EINVAL && !sqpoll) {
    // Before Linux 6.1: no deferred task running.
    p.flags &= ~(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    fd = SysSetup(entries, &p);
  }
  if (fd < 0 && errno == EINVAL && !sqpoll) {
    // Before Linux 5.19: no cooperative task running.
    p.flags &= ~(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
    fd = SysSetup(entries, &p);
  }
  if (fd < 0) return -errno;
  r->taskrun_flag = (p.flags & IORING_SETUP_TASKRUN_FLAG) != 0;
  r->deferred = (p.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  r->fd = fd;
  if (!(p.features & IORING_FEAT_EXT_ARG)) {
    Unmap(r);
    return -ENOTSUP;  // waits with a timeout need Linux 5.11+
  }
  r->sq_entries = p.sq_entries;
  r->cq_entries = p.cq_entries;
  r->sq_map_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_map_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && r->cq_map_size > r->sq_map_size) r->sq_map_size = r->cq_map_size;
  r->sq_map = mmap(nullptr, r->sq_map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED) {
    int e = errno;
    r->sq_map = nullptr;
    Unmap(r);
    return -e;
  }
  if (single) {
    r->cq_map = r->sq_map;
  } else {
    r->cq_map = mmap(nullptr, r->cq_map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                     IORING_OFF_CQ_RING);
    if (r->cq_map == MAP_FAILED) {
      int e = errno;
      r->cq_map = nullptr;
      Unmap(r);
      return -e;
    }
  }
  r->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
  void* sqes = mmap(nullptr, r->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    int e = errno;
    Unmap(r);
    return -e;
  }
  r->sqes = static_cast<struct io_uring_sqe*>(sqes);
  char* sq = static_cast<char*>(r->sq_map);
  r->sq_head = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  r->sq_tail = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  r->sq_mask = reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  r->sq_array = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  r->sq_flags = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
  char* cq = static_cast<char*>(r->cq_map);
  r->cq_head = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
  r->cq_tail = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
  r->cq_mask = reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
  r->cqes = reinterpret_cast<struct io_uring_cqe*>(cq + p.cq_off.cqes);
  return 0;
}

// Runs completion work the kernel left for this task (cooperative task running), so its CQEs appear.
void RunTaskWork(Ring* r) {
  if (r->taskrun_flag && (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN))
    SysEnter(r->fd, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
}

// Copies ready CQEs into r->completions as [slot, res, completeUs] and returns how many.
unsigned Reap(Ring* r) {
  unsigned head = *r->cq_head;
  unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
  if (head == tail) return 0;
  double now = NowUs();
  unsigned mask = *r->cq_mask;
  unsigned cap = static_cast<unsigned>(r->completions_len / 3);
  unsigned n = 0;
  while (head != tail && n < cap) {
    const struct io_uring_cqe* cqe = &r->cqes[head & mask];
    r->completions[n * 3] = static_cast<double>(cqe->user_data);
    r->completions[n * 3 + 1] = static_cast<double>(cqe->res);
    r->completions[n * 3 + 2] = now;
    n++;
    head++;
  }
  __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
  r->in_flight -= n;
  return n;
}

// ---- N-API glue ----

#define CHECK(env, call)                                          \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      napi_throw_error((env), "LAKE_E_INTERNAL", "N-API call failed: " #call); \
      return nullptr;                                             \
    }                                                             \
  } while (0)

napi_value ThrowErrno(napi_env env, const char* what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s (errno %d)", what, strerror(err), err);
  napi_value code, msg, error;
  napi_create_string_utf8(env, "LAKE_E_IO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return nullptr;
}

void FinalizeRing(napi_env env, void* data, void*) {
  Ring* r = static_cast<Ring*>(data);
  Unmap(r);
  if (r->submissions_ref != nullptr) napi_delete_reference(env, r->submissions_ref);
  if (r->completions_ref != nullptr) napi_delete_reference(env, r->completions_ref);
  delete r;
}

bool Float64Data(napi_env env, napi_value value, double** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void* raw = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &ab, &offset) != napi_ok) return false;
  if (type != napi_float64_array) return false;
  *data = static_cast<double*>(raw);
  return true;
}

Ring* GetRing(napi_env env, napi_value value) {
  void* data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, "LAKE_E_USAGE", "expected a ring handle");
    return nullptr;
  }
  Ring* r = static_cast<Ring*>(data);
  if (r->closed) {
    napi_throw_error(env, "LAKE_E_USAGE", "the ring is closed");
    return nullptr;
  }
  return r;
}

// The ring handle of a call that takes only the ring (nullptr with an exception pending otherwise).
Ring* RingArg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  return GetRing(env, argv[0]);
}

// createRing(entries, bufferBytes, align, submissions: Float64Array, completions: Float64Array, sqpoll?)
napi_value CreateRing(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 5) {
    napi_throw_type_error(env, "LAKE_E_USAGE", "createRing(entries, bufferBytes, align, submissions, completions)");
    return nullptr;
  }
  uint32_t entries = 0, align = 0;
  double buffer_bytes = 0;
  CHECK(env, napi_get_value_uint32(env, argv[0], &entries));
  CHECK(env, napi_get_value_double(env, argv[1], &buffer_bytes));
  CHECK(env, napi_get_value_uint32(env, argv[2], &align));
  Ring* r = new Ring();
  if (!Float64Data(env, argv[3], &r->submissions, &r->submissions_len) ||
      !Float64Data(env, argv[4], &r->completions, &r->completions_len)) {
    delete r;
    napi_throw_type_error(env, "LAKE_E_USAGE", "submissions and completions must be Float64Arrays");
    return nullptr;
  }
  if (entries < 1 || entries > 32768 || align < 512 || (align & (align - 1)) != 0 || buffer_bytes < align) {
    delete r;
    napi_throw_range_error(env, "LAKE_E_USAGE", "bad ring parameters");
    return nullptr;
  }
  bool sqpoll = false;
  if (argc > 5) {
    napi_valuetype type;
    napi_typeof(env, argv[5], &type);
    if (type == napi_boolean) napi_get_value_bool(env, argv[5], &sqpoll);
  }
  int rc = Setup(r, entries, sqpoll);
  if (rc < 0) {
    delete r;
    return ThrowErrno(env, "io_uring_setup", -rc);
  }
  r->buf_bytes = static_cast<size_t>(buffer_bytes);
  r->buf_bytes = (r->buf_bytes + align - 1) / align * align;
  if (posix_memalign(&r->read_buf, align, r->buf_bytes) != 0 ||
      posix_memalign(&r->write_buf, align, r->buf_bytes) != 0) {
    Unmap(r);
    delete r;
    return ThrowErrno(env, "posix_memalign", ENOMEM);
  }
  memset(r->read_buf, 0, r->buf_bytes);
  // Registered buffers: the kernel pins their pages once, not on every I/O (READ_FIXED / WRITE_FIXED).
  struct iovec iov[2];
  iov[0].iov_base = r->read_buf;
  iov[0].iov_len = r->buf_bytes;
  iov[1].iov_base = r->write_buf;
  iov[1].iov_len = r->buf_bytes;
  r->fixed_buffers =
      syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS, iov, 2) == 0;
  // A non-zero, non-repeating-page pattern so that devices that compress or dedupe still write data.
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  uint64_t* w = static_cast<uint64_t*>(r->write_buf);
  for (size_t i = 0; i < r->buf_bytes / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w[i] = x;
  }
  napi_create_reference(env, argv[3], 1, &r->submissions_ref);
  napi_create_reference(env, argv[4], 1, &r->completions_ref);
  napi_value handle;
  CHECK(env, napi_create_external(env, r, FinalizeRing, nullptr, &handle));
  return handle;
}

// submit(ring, count) -> timestamp (us) taken just before the batch entered the kernel.
// submissions holds count entries [slot, fd, write(0/1), offset, size].
napi_value Submit(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Ring* r = GetRing(env, argv[0]);
  if (r == nullptr) return nullptr;
  uint32_t count = 0;
  CHECK(env, napi_get_value_uint32(env, argv[1], &count));
  if (count * 5 > r->submissions_len || r->in_flight + count > r->cq_entries || count > r->sq_entries) {
    napi_throw_range_error(env, "LAKE_E_USAGE", "submit: batch larger than the ring or the shared array");
    return nullptr;
  }
  unsigned tail = *r->sq_tail;
  unsigned mask = *r->sq_mask;
  if (r->sqpoll) {
    // The kernel thread may not have taken earlier entries yet: wait for room.
    while (r->sq_entries - (tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE)) < count) {
      if (SysEnter(r->fd, 0, 0, IORING_ENTER_SQ_WAIT, nullptr, 0) < 0 && errno != EINTR)
        return ThrowErrno(env, "io_uring_enter (sq wait)", errno);
    }
  }
  for (uint32_t i = 0; i < count; i++) {
    const double* s = r->submissions + i * 5;
    size_t size = static_cast<size_t>(s[4]);
    if (size > r->buf_bytes) {
      napi_throw_range_error(env, "LAKE_E_USAGE", "submit: I/O larger than the ring's buffers");
      return nullptr;
    }
    unsigned index = tail & mask;
    struct io_uring_sqe* sqe = &r->sqes[index];
    memset(sqe, 0, sizeof *sqe);
    bool write = s[2] != 0;
    if (r->fixed_buffers) {
      sqe->opcode = write ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
      sqe->buf_index = write ? 1 : 0;
    } else {
      sqe->opcode = write ? IORING_OP_WRITE : IORING_OP_READ;
    }
    sqe->fd = static_cast<int>(s[1]);
    sqe->off = static_cast<uint64_t>(s[3]);
    sqe->addr = reinterpret_cast<uint64_t>(write ? r->write_buf : r->read_buf);
    sqe->len = static_cast<uint32_t>(size);
    sqe->user_data = static_cast<uint64_t>(s[0]);
    r->sq_array[index] = index;
    tail++;
  }
  double at = NowUs();
  __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
  if (r->sqpoll) {
    // Full barrier between publishing the tail and reading the flags (the kernel thread does the reverse).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) & IORING_SQ_NEED_WAKEUP) {
      if (SysEnter(r->fd, 0, 0, IORING_ENTER_SQ_WAKEUP, nullptr, 0) < 0)
        return ThrowErrno(env, "io_uring_enter (wake)", errno);
    }
    r->in_flight += count;
    napi_value result;
    CHECK(env, napi_create_double(env, at, &result));
    return result;
  }
  // With deferred completions, the submitting call also runs the completions waiting for this thread, so
  // that the next poll finds them in the ring without a call of its own.
  unsigned enter_flags = r->deferred ? IORING_ENTER_GETEVENTS : 0;
  unsigned left = count;
  while (left > 0) {
    int n = SysEnter(r->fd, left, 0, enter_flags, nullptr, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ThrowErrno(env, "io_uring_enter (submit)", errno);
    }
    left -= static_cast<unsigned>(n);
  }
  r->in_flight += count;
  napi_value result;
  CHECK(env, napi_create_double(env, at, &result));
  return result;
}

// The adaptive spin's budget never grows from less than this (us), so that a budget that fell to 0 can grow
// back when completions come quickly again.
constexpr double kSpinFloorUs = 2;

// The spin budget after a wait whose first completion came `took_us` after the wait began (or no completion
// within `took_us`): spinning pays only when a completion comes within the caller's spin, so the budget
// doubles (up to `spin`) when one did and halves when none did, as an adaptive mutex's spin does. With many
// I/Os in flight on a device that completes them in bursts, waits last a burst's time and the budget falls to
// 0 (no CPU burnt spinning, which on a busy machine is CPU the kernel's I/O path and the engine lose); with
// one fast I/O at a time, it stays at `spin` (no wake-up latency).
void AdaptSpin(Ring* r, double spin, double budget, double took_us) {
  if (took_us <= spin) {
    double grown = budget * 2 < kSpinFloorUs ? kSpinFloorUs : budget * 2;
    r->spin_budget_us = grown < spin ? grown : spin;
  } else {
    r->spin_budget_us = budget / 2 < 1 ? 0 : budget / 2;
  }
}

// wait(ring, untilUs, spinUs) -> completions written to the shared array as [slot, res, completeUs].
// Returns at once with what is ready; else spins watching the completion ring (up to spinUs, less while
// recent waits showed that spinning does not pay: AdaptSpin), then sleeps in the kernel until a completion
// or untilUs (monotonic us), whichever is first.
napi_value Wait(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Ring* r = GetRing(env, argv[0]);
  if (r == nullptr) return nullptr;
  double until = 0, spin = 0;
  CHECK(env, napi_get_value_double(env, argv[1], &until));
  CHECK(env, napi_get_value_double(env, argv[2], &spin));
  RunTaskWork(r);
  unsigned n = Reap(r);
  double start = NowUs();
  double now = start;
  double budget = spin < r->spin_budget_us ? spin : r->spin_budget_us;
  double spin_until = now + budget;
  // Only a wait that could outlast the caller's spin says whether spinning pays.
  bool informative = n == 0 && until - start > spin && spin > 0;
  while (n == 0 && now < until) {
    if (now < spin_until) {
      RunTaskWork(r);
      if (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head) {
        n = Reap(r);
        break;
      }
      now = NowUs();
      continue;
    }
    double left_us = until - now;
    struct __kernel_timespec ts;
    ts.tv_sec = static_cast<long long>(left_us / 1e6);
    ts.tv_nsec = static_cast<long long>((left_us - static_cast<double>(ts.tv_sec) * 1e6) * 1e3);
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.ts = reinterpret_cast<uint64_t>(&ts);
    int rc = SysEnter(r->fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    if (rc < 0 && errno != ETIME && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      return ThrowErrno(env, "io_uring_enter (wait)", errno);
    }
    n = Reap(r);
    now = NowUs();
  }
  if (informative) AdaptSpin(r, spin, budget, n > 0 ? now - start : until - start);
  napi_value result;
  CHECK(env, napi_create_uint32(env, n, &result));
  return result;
}

// inFlight(ring) -> I/Os submitted and not yet reaped.
napi_value InFlight(napi_env env, napi_callback_info info) {
  Ring* r = RingArg(env, info);
  if (r == nullptr) return nullptr;
  napi_value result;
  CHECK(env, napi_create_uint32(env, r->in_flight, &result));
  return result;
}

// spinBudget(ring) -> the most the next wait will spin, us (the adaptive spin's state, for tests and reports).
napi_value SpinBudget(napi_env env, napi_callback_info info) {
  Ring* r = RingArg(env, info);
  if (r == nullptr) return nullptr;
  napi_value result;
  CHECK(env, napi_create_double(env, r->spin_budget_us, &result));
  return result;
}

// close(ring): waits for what is in flight (the kernel may still write into the buffers), then releases.
napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  void* data = nullptr;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, "LAKE_E_USAGE", "expected a ring handle");
    return nullptr;
  }
  Ring* r = static_cast<Ring*>(data);
  if (!r->closed) {
    while (r->in_flight > 0) {
      if (Reap(r) == 0) SysEnter(r->fd, 0, 1, IORING_ENTER_GETEVENTS, nullptr, 0);
    }
    r->closed = true;
    Unmap(r);
  }
  return nullptr;
}

// nowUs() -> CLOCK_MONOTONIC in microseconds.
napi_value Now(napi_env env, napi_callback_info) {
  napi_value result;
  CHECK(env, napi_create_double(env, NowUs(), &result));
  return result;
}

// pread(fd, offset, size, align) / pwrite(...) -> [res, latencyUs]: one blocking I/O through an aligned
// buffer (probing O_DIRECT and the synchronous Device interface).
napi_value Blocking(napi_env env, napi_callback_info info, bool write) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t fd = 0;
  double offset = 0, size = 0;
  uint32_t align = 4096;
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  CHECK(env, napi_get_value_double(env, argv[1], &offset));
  CHECK(env, napi_get_value_double(env, argv[2], &size));
  if (argc > 3) CHECK(env, napi_get_value_uint32(env, argv[3], &align));
  if (align < 512 || (align & (align - 1)) != 0 || size < 0 || size > (1u << 30)) {
    napi_throw_range_error(env, "LAKE_E_USAGE", "bad blocking I/O parameters");
    return nullptr;
  }
  size_t bytes = size > 0 ? static_cast<size_t>(size) : 0;
  size_t alloc = bytes > 0 ? (bytes + align - 1) / align * align : align;
  void* buf = nullptr;
  if (posix_memalign(&buf, align, alloc) != 0) return ThrowErrno(env, "posix_memalign", ENOMEM);
  memset(buf, write ? 0x5a : 0, alloc);
  double t0 = NowUs();
  ssize_t res = write ? pwrite(fd, buf, bytes, static_cast<off_t>(offset))
                      : pread(fd, buf, bytes, static_cast<off_t>(offset));
  double t1 = NowUs();
  int err = errno;
  free(buf);
  napi_value out, v0, v1;
  CHECK(env, napi_create_array_with_length(env, 2, &out));
  CHECK(env, napi_create_double(env, res < 0 ? -static_cast<double>(err) : static_cast<double>(res), &v0));
  CHECK(env, napi_create_double(env, t1 - t0, &v1));
  CHECK(env, napi_set_element(env, out, 0, v0));
  CHECK(env, napi_set_element(env, out, 1, v1));
  return out;
}

napi_value Pread(napi_env env, napi_callback_info info) { return Blocking(env, info, false); }
napi_value Pwrite(napi_env env, napi_callback_info info) { return Blocking(env, info, true); }

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createRing", nullptr, CreateRing, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"submit", nullptr, Submit, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"wait", nullptr, Wait, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"inFlight", nullptr, InFlight, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"spinBudget", nullptr, SpinBudget, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"nowUs", nullptr, Now, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pread", nullptr, Pread, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pwrite", nullptr, Pwrite, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
