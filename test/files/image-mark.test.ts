/**
 * The image mark: written for one file, it vouches for that file only (inode, birth time, size), and
 * anything at the mark's path that is not a well-formed mark is reported as such, never taken for one.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  imageMarkFor,
  imageMarkMismatch,
  imageMarkPath,
  readImageMark,
  writeImageMark,
} from '../../src/files/image-mark.js';

const dir = mkdtempSync(join(tmpdir(), 'lake-mark-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('image marks', () => {
  test('a mark written for a file matches it, and stops matching when its size changes', async () => {
    const image = join(dir, 'a.img');
    writeFileSync(image, Buffer.alloc(8192, 3));
    assert.match(imageMarkMismatch(image) ?? '', /has no .*a\.img\.lake-image mark/);
    const mark = imageMarkFor(statSync(image, { bigint: true }), new Date('2026-01-02T03:04:05Z'));
    await writeImageMark(image, mark);
    assert.equal(imageMarkPath(image), `${image}.lake-image`);
    assert.deepEqual(readImageMark(image), { kind: 'mark', mark });
    assert.equal(mark.sizeBytes, 8192);
    assert.equal(mark.ino, String(statSync(image, { bigint: true }).ino));
    assert.equal(imageMarkMismatch(image), undefined);
    appendFileSync(image, 'x');
    assert.match(
      imageMarkMismatch(image) ?? '',
      /size changed since lake created it \(8192 bytes then, 8193 now\)/,
    );
  });

  test('what is not a mark is never read as one', () => {
    const image = join(dir, 'b.img');
    writeFileSync(image, Buffer.alloc(4096));
    const good = imageMarkFor(statSync(image, { bigint: true }));
    const cases: Array<[string | Buffer, RegExp]> = [
      ['not json', /not a lake image mark \(not JSON\)/],
      [JSON.stringify({ ...good, version: 2 }), /not a lake image mark$/],
      [JSON.stringify({ ...good, format: 'other' }), /not a lake image mark$/],
      [JSON.stringify({ ...good, ino: 12 }), /not a lake image mark$/],
      [JSON.stringify({ ...good, sizeBytes: -1 }), /not a lake image mark$/],
      [JSON.stringify(null), /not a lake image mark$/],
      [Buffer.alloc(5000, 0x20), /not a lake image mark \(5000 bytes\)/],
    ];
    for (const [content, pattern] of cases) {
      writeFileSync(imageMarkPath(image), content);
      const found = readImageMark(image);
      assert.equal(found.kind, 'other');
      assert.match(found.kind === 'other' ? found.reason : '', pattern);
      assert.match(imageMarkMismatch(image) ?? '', pattern);
    }
    rmSync(imageMarkPath(image));
    assert.deepEqual(readImageMark(image), { kind: 'none' });
  });
});
