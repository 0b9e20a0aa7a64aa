/**
 * A model trained on raw digits survives LinnOS's integer quantisation (weights x1000): the exact integer
 * path decides as the float model does on nearly every vector. This is why training feeds raw digits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPredictor } from '../../src/kernels/create.js';
import { inflectionPoint, labelByThreshold } from '../../src/linnos/labels.js';
import { trainLinnos } from '../../src/linnos/train.js';
import { readLinnosVectors } from '../../src/linnos/vector-file.js';
import { fixturePath } from '../helpers/fixtures.js';

const temp1 = fixturePath('linnos/temp1');

describe('trained models under LinnOS quantisation', () => {
  const { dataset } = readLinnosVectors(temp1);
  const labels = labelByThreshold(dataset.latencyUs, inflectionPoint(dataset.latencyUs).thresholdUs);

  for (const inputScale of [1, 1 / 9]) {
    test(`inputScale ${inputScale === 1 ? '1 (raw digits)' : '1/9'}: float and integer decisions agree`, () => {
      const { model } = trainLinnos({ vectors: dataset.vectors, labels }, { epochs: 3, inputScale, seed: 3 });
      const float = createPredictor(model, { backend: 'js' });
      const exact = createPredictor(model, { backend: 'exact' });
      let agree = 0;
      for (let r = 0; r < dataset.count; r++) {
        const x = dataset.vectors.subarray(r * 31, (r + 1) * 31);
        if (float.predict(x) === exact.predict(x)) agree++;
      }
      float.dispose();
      exact.dispose();
      assert.ok(agree / dataset.count > 0.99, `${agree} / ${dataset.count}`);
    });
  }
});
