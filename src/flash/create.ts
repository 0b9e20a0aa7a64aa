/** The one way to build a simulated SSD: options in, validated, preconditioned device out. */
import { type FlashOptions, resolveFlashConfig } from './options.js';
import { SimulatedSsd } from './simulated-ssd.js';

export function createFlashDevice(options: FlashOptions = {}): SimulatedSsd {
  return new SimulatedSsd(resolveFlashConfig(options));
}
