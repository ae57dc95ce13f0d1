// The README's pasted diagnostic is what projc prints, and the troubleshooting sections the
// runtime's error messages point to exist.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { acquireDawn, registerDawn } from '../../src/runtime/dawn.ts';
import {
  acquireDevice,
  DeviceUnavailableError,
  registerDeviceProvider,
  TROUBLESHOOTING,
} from '../../src/runtime/device.ts';

const README = readFileSync('README.md', 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('README.md', () => {
  afterEach(() => registerDawn());

  it('pastes what `projc check examples/errors/bad.proj` prints', async () => {
    let text = '';
    const io = { out: (t: string) => void (text += t), err: (t: string) => void (text += t) };
    expect(await main(['check', 'examples/errors/bad.proj'], io)).toBe(1);
    const block =
      /<!-- output: projc check examples\/errors\/bad\.proj -->\s*```\n([\s\S]*?)```/.exec(README);
    expect(block?.[1]?.trimEnd()).toBe(text.trimEnd());
  });

  it('has the troubleshooting sections the error messages link to', () => {
    const anchors = new Set(
      [...README.matchAll(/^#{2,4} (.+)$/gm)].map((m) => `README.md#${slug(m[1] ?? '')}`),
    );
    for (const link of Object.values(TROUBLESHOOTING)) {
      expect(anchors).toContain(link.replace(/^projc's /, ''));
    }
  });

  it('is linked from the no-adapter errors, with Dawn and without any provider', async () => {
    const dawn = acquireDawn({ backend: 'no-such-backend' });
    await expect(dawn).rejects.toBeInstanceOf(DeviceUnavailableError);
    await expect(dawn).rejects.toThrow(TROUBLESHOOTING.noAdapter);
    await expect(dawn).rejects.toThrow(TROUBLESHOOTING.egl);
    registerDeviceProvider(undefined); // a non-browser, non-Node host with the browser build
    const none = acquireDevice();
    await expect(none).rejects.toThrow(/no navigator\.gpu and no device provider/);
    await expect(none).rejects.toThrow(TROUBLESHOOTING.noAdapter);
  });
});
