"""A competing GPU job for lake's contention measurement: a PyTorch fp16 matmul loop on CUDA.

Sets up (CUDA context, matrices, one warm-up matmul) and prints one JSON line when ready; the GPU then
idles until a line ("go") arrives on stdin, so the load's start is a known instant. Then it prints when
the load started and when its first round finished, every ~100 ms the matmuls completed so far, and on
SIGTERM or SIGINT a last line with when its last round finished. Each round of 4 matmuls is
synchronised, so the count is work done, not work queued. Times are CLOCK_MONOTONIC in microseconds
(time.monotonic_ns), the clock Node's process.hrtime reads, so the caller can place them on its own.
Usage: python3 matmul-load.py [N] (N x N matrices, default 8192).
"""

import json
import signal
import sys
import time

stop = False


def request_stop(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, request_stop)
signal.signal(signal.SIGINT, request_stop)

try:
    import torch
except ImportError as error:
    print(json.dumps({"error": f"PyTorch is not importable: {error}"}), flush=True)
    sys.exit(3)
if not torch.cuda.is_available():
    print(json.dumps({"error": "PyTorch sees no CUDA device"}), flush=True)
    sys.exit(3)

n = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
a = torch.randn(n, n, device="cuda", dtype=torch.float16)
b = torch.randn(n, n, device="cuda", dtype=torch.float16)
c = a @ b
torch.cuda.synchronize()
print(json.dumps({"ready": True, "n": n, "device": torch.cuda.get_device_name(0)}), flush=True)
sys.stdin.readline()


def now_us():
    return time.monotonic_ns() // 1000


done = 0
start_us = now_us()
round_end_us = start_us
last = time.monotonic()
while not stop:
    for _ in range(4):
        c = a @ b
    torch.cuda.synchronize()
    round_end_us = now_us()
    if done == 0:
        print(json.dumps({"loadStartUs": start_us, "firstRoundUs": round_end_us}), flush=True)
    done += 4
    now = time.monotonic()
    if now - last >= 0.1:
        print(json.dumps({"done": done}), flush=True)
        last = now
print(json.dumps({"done": done, "exit": True, "loadEndUs": round_end_us}), flush=True)
