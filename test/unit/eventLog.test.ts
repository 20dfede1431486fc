import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kinds.js';
import type { ReflectorEvent } from '../../src/kube/Reflector.js';
import { defaultEventLogLimits, EventLog, estimateBytes } from '../../src/subscriptions/EventLog.js';

/** A PipelineResource whose description is `descriptionBytes` characters, at resourceVersion `rv`. */
function event(rv: number, name: string, descriptionBytes: number, type: ReflectorEvent['type'] = 'MODIFIED'): ReflectorEvent {
  const object: KubeObject = {
    apiVersion: 'tekton.dev/v1alpha1',
    kind: 'PipelineResource',
    metadata: { name, namespace: 'team-a', resourceVersion: String(rv) },
    spec: { type: 'git', description: 'x'.repeat(descriptionBytes) },
  } as KubeObject;
  return { type, object, resourceVersion: String(rv), position: { version: String(rv) }, cursor: `v1:${rv}` };
}

const versions = (events: ReflectorEvent[] | undefined) => events?.map((e) => Number(e.resourceVersion));

describe('estimateBytes', () => {
  it('is within a few percent of the JSON length, for small and large objects', () => {
    for (const size of [0, 100, 10_000, 1_000_000]) {
      const e = event(1, 'r', size);
      const json = JSON.stringify(e.object).length;
      const estimate = estimateBytes(e.object);
      expect(estimate).toBeGreaterThanOrEqual(json);
      expect(estimate).toBeLessThan(json * 1.1 + 100);
    }
  });
});

describe('EventLog', () => {
  it('defaults to 10,000 events and 32 MiB per kind', () => {
    expect(defaultEventLogLimits).toEqual({ maxEvents: 10_000, maxBytes: 33_554_432 });
    expect(new EventLog().limits).toEqual(defaultEventLogLimits);
  });

  it('is bounded by bytes: 352 updates of two 1 MB objects keep 8 events in 10 MB, and the floor moves', () => {
    const log = new EventLog({ maxEvents: 10_000, maxBytes: 10 * 1024 * 1024 });
    log.completeFrom('100');
    const size = estimateBytes(event(101, 'big-a', 1_000_000).object);
    for (let i = 0; i < 352; i++) {
      log.append(event(101 + 2 * i, 'big-a', 1_000_000));
      log.append(event(102 + 2 * i, 'big-b', 1_000_000));
    }
    // floor(10 MiB / ~1 MB) whole events fit; the 704 written are 704 MB.
    const fit = Math.floor((10 * 1024 * 1024) / size);
    expect(fit).toBe(10);
    expect(log.size).toBe(10);
    expect(log.bytes).toBe(10 * size);
    // The newest ten are kept: 795..804; anything before the newest dropped (794) is RESYNC.
    expect(versions(log.since('794'))).toEqual([795, 796, 797, 798, 799, 800, 801, 802, 803, 804]);
    expect(log.since('793')).toBeUndefined();
    expect(log.since('100')).toBeUndefined();
    expect(versions(log.since('803'))).toEqual([804]);
  });

  it('keeps deleted objects only inside the window: small events push them out', () => {
    const log = new EventLog({ maxEvents: 10_000, maxBytes: 4 * 1024 * 1024 });
    log.completeFrom('1');
    log.append(event(2, 'big-a', 1_000_000));
    log.append(event(3, 'big-a', 1_000_000, 'DELETED'));
    expect(log.size).toBe(2);
    // Small events (1 KB) of one size: six-digit versions, two-character names.
    const small = estimateBytes(event(100_000, 's0', 1_000).object);
    const count = Math.ceil((4 * 1024 * 1024) / small);
    for (let i = 0; i < count; i++) log.append(event(100_000 + i, `s${i % 10}`, 1_000));
    // Both versions of the deleted object are gone: a resume from before them is RESYNC.
    expect(log.since('1')).toBeUndefined();
    expect(log.since('3')).toBeUndefined();
    const fit = Math.floor((4 * 1024 * 1024) / small);
    expect(log.size).toBe(fit);
    expect(log.bytes).toBe(fit * small);
    const firstKept = 100_000 + count - fit;
    expect(versions(log.since(String(firstKept - 1)))).toEqual(Array.from({ length: fit }, (_, i) => firstKept + i));
  });

  it('is bounded by events: the 4th of 3 drops the 1st and moves the floor to it', () => {
    const log = new EventLog({ maxEvents: 3, maxBytes: 1024 * 1024 });
    log.completeFrom('10');
    for (const rv of [11, 12, 13]) log.append(event(rv, 'r', 10));
    expect(versions(log.since('10'))).toEqual([11, 12, 13]);
    log.append(event(14, 'r', 10));
    expect(log.size).toBe(3);
    expect(log.since('10')).toBeUndefined();
    expect(versions(log.since('11'))).toEqual([12, 13, 14]);
    expect(log.bytes).toBe(3 * estimateBytes(event(14, 'r', 10).object));
  });

  it('an event larger than the whole budget empties the log and restarts it after that event', () => {
    const log = new EventLog({ maxEvents: 100, maxBytes: 100_000 });
    log.completeFrom('1');
    log.append(event(2, 'r', 10));
    log.append(event(3, 'huge', 200_000));
    expect(log.size).toBe(0);
    expect(log.bytes).toBe(0);
    expect(log.since('2')).toBeUndefined();
    expect(versions(log.since('3'))).toEqual([]);
    log.append(event(4, 'r', 10));
    expect(versions(log.since('3'))).toEqual([4]);
  });

  it('answers undefined (RESYNC) before its first LIST completed', () => {
    const log = new EventLog();
    log.append(event(5, 'r', 10));
    expect(log.since('4')).toBeUndefined();
  });

  it('resumes from a cursor with exactly the events after it, and from the newest with none', () => {
    const log = new EventLog({ maxEvents: 10 });
    log.completeFrom('1');
    for (const rv of [2, 3, 4]) log.append(event(rv, 'r', 10));
    expect(versions(log.since('v1:2'))).toEqual([3, 4]);
    expect(versions(log.since('v1:4'))).toEqual([]);
    expect(versions(log.since('v1:1'))).toEqual([2, 3, 4]);
    // Older than the floor, or not a position at all: RESYNC.
    expect(log.since('v1:0')).toBeUndefined();
    expect(log.since('not a cursor')).toBeUndefined();
  });

  it('keeps its order across the wrap-around of its ring (the 25th event into 10 places)', () => {
    const log = new EventLog({ maxEvents: 10, maxBytes: 1024 * 1024 });
    log.completeFrom('100');
    for (let rv = 101; rv <= 125; rv++) log.append(event(rv, `r${rv % 3}`, 10));
    expect(log.size).toBe(10);
    expect(versions(log.since('v1:115'))).toEqual([116, 117, 118, 119, 120, 121, 122, 123, 124, 125]);
    expect(versions(log.since('v1:120'))).toEqual([121, 122, 123, 124, 125]);
    expect(log.since('v1:114')).toBeUndefined();
  });

  it('a relist cursor resumes inside the relist; another relist id (another replica) is RESYNC', () => {
    const log = new EventLog();
    log.completeFrom('10');
    const relisted = (rv: number, index: number, type: ReflectorEvent['type']): ReflectorEvent => {
      const e = event(rv, `d${index}`, 10, type);
      const position = { version: '20', relist: { id: 'abcdef012345', index } };
      return { ...e, position, cursor: `v1:20:abcdef012345:${index}` };
    };
    log.append(event(11, 'r', 10));
    log.append(relisted(15, 0, 'MODIFIED'));
    log.append(relisted(12, 1, 'DELETED'));
    log.append(relisted(13, 2, 'DELETED'));
    log.append(event(21, 'r', 10));
    expect(versions(log.since('v1:20:abcdef012345:0'))).toEqual([12, 13, 21]);
    expect(versions(log.since('v1:20:abcdef012345:2'))).toEqual([21]);
    expect(log.since('v1:20:fedcba987654:0')).toBeUndefined();
    // A bare version inside the relist replays the whole relist: it can repeat events, never skip one.
    expect(versions(log.since('20'))).toEqual([15, 12, 13, 21]);
  });
});
