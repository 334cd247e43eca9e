/**
 * One suite (`suite.ts`), every scheduler listed in `schedulers.ts`, plus their life cycle:
 * results, events, stats and every error case must be the same on each.
 */
import { describe, expect, it } from 'vitest';
import { createScheduler, SchedulerClosedError } from '../../dist/schedulers/index.js';
import { op } from './helpers.js';
import { conformanceSuite, rejection } from './suite.js';
import { conformanceSchedulers } from './schedulers.js';

for (const target of conformanceSchedulers) conformanceSuite(target);

describe('conformance: lifecycle', () => {
  for (const target of conformanceSchedulers) {
    it(`${target.name}: close is idempotent and get after close rejects with SchedulerClosedError`, async () => {
      const scheduler = await createScheduler(target.name, target.options);
      await scheduler.close();
      await scheduler.close();
      const err = await rejection(scheduler.get({ a: { value: 1 } }, ['a']));
      expect(err).toBeInstanceOf(SchedulerClosedError);
    });

    // sync has no workers to stop: a running get simply finishes.
    it.skipIf(!target.hasWorkers)(`${target.name}: a get still running when close() is called rejects with SchedulerClosedError`, async () => {
      const scheduler = await createScheduler(target.name, target.options);
      const running = scheduler.get({ s: { op: op('sleep'), args: [300, 'late'] } }, ['s']);
      running.catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      await scheduler.close();
      const err = await rejection(running);
      expect(err).toBeInstanceOf(SchedulerClosedError);
    });
  }
});
