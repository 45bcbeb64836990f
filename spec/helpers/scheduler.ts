import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';

/** Compares marble frames deeply, comparing errors by class, code and message rather than stack. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(strip(actual)).to.deep.equal(strip(expected));
  });
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)]));
  }
  return value;
}
