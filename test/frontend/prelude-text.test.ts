import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRELUDE } from '../../src/frontend/prelude.ts';

describe('the embedded prelude', () => {
  it('is prelude.proj, byte for byte', () => {
    const onDisk = readFileSync(
      new URL('../../src/frontend/prelude.proj', import.meta.url),
      'utf8',
    );
    // toBe's diff would be one huge line; the message says what to do instead.
    expect(
      PRELUDE.text === onDisk,
      'src/frontend/prelude-text.ts is stale: regenerate it from prelude.proj with `npm run gen:prelude` (npm run build does it too)',
    ).toBe(true);
  });
});
