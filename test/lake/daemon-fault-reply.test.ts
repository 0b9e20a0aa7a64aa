import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuWasmBackend } from '../../src/lake/backends/cpu-wasm/device.js';
import type { BackendDevice } from '../../src/lake/backends/types.js';
import { Channel } from '../../src/lake/daemon/channel.js';
import { CommandExecutor } from '../../src/lake/daemon/executor.js';
import { Api, MAX_FAULT_TEXT, S_API, S_TEXT_LENGTH, TEXT_BYTES } from '../../src/lake/daemon/protocol.js';
import { parseDeviceFault, parseDeviceInfo } from '../../src/lake/lib/replies.js';
import { ShmArena } from '../../src/lake/shm/arena.js';

/** A GPU device that left its accelerator with `fault`; the rest is a cpu-wasm device's (its CPU twin). */
function faultedDevice(arena: ShmArena, fault: string): BackendDevice {
  const twin = new CpuWasmBackend().open(arena);
  return {
    backend: 'webgpu',
    kind: 'gpu',
    name: 'test GPU, faulted',
    capabilities: ['faulted'],
    fault,
    adoptMemory: (ptr, bytes) => twin.adoptMemory(ptr, bytes),
    releaseMemory: (ptr) => twin.releaseMemory(ptr),
    copyToDevice: (d, h, bytes) => twin.copyToDevice(d, h, bytes),
    copyFromDevice: (h, d, bytes) => twin.copyFromDevice(h, d, bytes),
    copyOnDevice: (d, s, bytes) => twin.copyOnDevice(d, s, bytes),
    loadModule: (kernelSet, model) => twin.loadModule(kernelSet, model),
    close: () => twin.close(),
  };
}

/** lakeD's synchronise reply for context 1 on device 1 with the given fault, as lakeLib reads the slot. */
function synchroniseReply(fault: string): { result0: number; text: string; bytes: number } {
  const arena = ShmArena.create({ bytes: 1 << 20 });
  const cpu = new CpuWasmBackend().open(arena);
  const host = { beat: () => {}, hang: () => {}, crash: () => {}, reportsFaults: true };
  const executor = new CommandExecutor(arena, [cpu, faultedDevice(arena, fault)], host);
  const channel = new Channel();
  const slot = 3;
  const send = (api: number, args: number[]): void => {
    channel.words[channel.slotWord(slot) + S_API] = api;
    channel.words[channel.slotWord(slot) + S_TEXT_LENGTH] = 0; // as lakeLib submits a command without text
    channel.args(slot).set(args);
    executor.execute(channel.io(slot));
  };
  send(Api.contextCreate, [1, 1]);
  send(Api.contextSynchronize, [1]);
  const text = channel.readText(slot);
  executor.close();
  return { result0: channel.result(slot)[0]!, text, bytes: Buffer.byteLength(text) };
}

test('a synchronise reports its device fault as JSON that fits the slot, whatever the fault text holds', () => {
  const faults = {
    ascii: `streamSynchronize: ${'x'.repeat(2 * MAX_FAULT_TEXT)}`,
    // Two UTF-8 bytes a character: 320 characters are 640 bytes, over TEXT_BYTES on their own.
    accented: `device lost: ${'é'.repeat(MAX_FAULT_TEXT)}`,
    // Control characters escape to six bytes each in JSON (\u0001).
    control: `GPU fault: ${'\u0001'.repeat(MAX_FAULT_TEXT)}`,
    // Quotes and newlines, as a multi-line driver message has them, escape to two bytes each.
    quoted: `GPU fault: ${'"a"\n'.repeat(MAX_FAULT_TEXT / 2)}`,
  };
  for (const [kind, fault] of Object.entries(faults)) {
    const reply = synchroniseReply(fault);
    assert.equal(reply.result0, 1, `${kind}: the reply says the device faulted`);
    assert.ok(reply.bytes <= TEXT_BYTES, `${kind}: ${reply.bytes} bytes`);
    const parsed = parseDeviceFault(reply.text, 1);
    assert.equal(parsed.backend, 'webgpu');
    assert.ok(parsed.reason.length > 0 && parsed.reason.length <= MAX_FAULT_TEXT, `${kind}: a reason`);
    const kept = parsed.reason.endsWith('...') ? parsed.reason.slice(0, -3) : parsed.reason;
    assert.ok(fault.startsWith(kept), `${kind}: the reason is the fault's beginning`);
  }
  // A short fault goes as it is.
  assert.equal(parseDeviceFault(synchroniseReply('launch: lost').text, 1).reason, 'launch: lost');
});

test("getDevice's description of a faulted device fits the slot too, its fault cut the same way", () => {
  const arena = ShmArena.create({ bytes: 1 << 20 });
  const host = { beat: () => {}, hang: () => {}, crash: () => {}, reportsFaults: true };
  // A lost device's message as Dawn gives it: several lines, labels in quotes, longer than a slot.
  const fault = `GPU fault: ${'Device lost ("lake-linnos" buffer)\n - While calling [Queue].Submit\n'.repeat(12)}`;
  assert.ok(Buffer.byteLength(fault) > TEXT_BYTES);
  const executor = new CommandExecutor(arena, [faultedDevice(arena, fault)], host);
  const channel = new Channel();
  const slot = 5;
  channel.words[channel.slotWord(slot) + S_API] = Api.deviceGet;
  channel.words[channel.slotWord(slot) + S_TEXT_LENGTH] = 0;
  channel.args(slot)[0] = 0;
  executor.execute(channel.io(slot));
  const info = parseDeviceInfo(channel.readText(slot), 0);
  assert.equal(info.backend, 'webgpu');
  const cut = info.fault ?? '';
  assert.ok(cut.endsWith('...'), 'the fault, cut');
  assert.ok(cut.length <= MAX_FAULT_TEXT);
  assert.ok(fault.startsWith(cut.slice(0, -3)));
  executor.close();
});
