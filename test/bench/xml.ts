// A small well-formedness check for the generated SVG (no XML parser among the dependencies).
import { expect } from 'vitest';

/** The element names of a document in order, checking that every tag is closed in order. */
export function checkWellFormed(svg: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  const body = svg.replace(/<text[^>]*>[^<]*<\/text>/g, (m) => m.replace(/>[^<]*</, '><'));
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name = '', attrs = '', self] = m;
    if (close) {
      expect(stack.pop()).toBe(name);
      continue;
    }
    // Every attribute is name="value" with no stray quotes or angle brackets.
    expect(attrs.replace(/\s+[\w:-]+="[^"<>]*"/g, '').trim()).toBe('');
    seen.push(name);
    if (!self) stack.push(name);
  }
  expect(stack).toEqual([]);
  return seen;
}
