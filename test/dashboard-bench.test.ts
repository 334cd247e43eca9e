// `schedlab bench --dashboard 0`: the dashboard in the bench's main process shows the cell
// being measured, with the events its pool process relays (coalesced) from the child.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from './cli-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'schedlab-bench-dashboard-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Seen {
  title: string;
  done: number;
  workers: string[];
  groups: string[];
}

// A lone cell has nothing to race and stops at its minimum of samples, so the bench is kept
// running (about 200 samples of a few ms) with --min-samples while the test polls the page.
describe('schedlab bench --dashboard', () => {
  it('serves the cell being measured and its pool events while the bench runs', async () => {
    const seen: Seen[] = [];
    let polling: Promise<void> | undefined;
    let finished = false;
    const run = await runCli(
      ['bench', '--workload-file', join(FIXTURES, 'sum-squares.workload.mjs'), '--schedulers', 'threads', '--workers', '2', '--out-dir', dir, '--no-report', '--budget', '1.5', '--min-samples', '200', '--max-samples', '200', '--dashboard', '0'],
      {
        timeoutMs: 60_000,
        onStderr: (text) => {
          const url = /schedlab dashboard: (\S+)/.exec(text)?.[1];
          if (!url || polling) return;
          polling = (async () => {
            while (!finished) {
              try {
                const u = (await (await fetch(`${url}state`)).json()) as { title: string; totals: { done: number }; workers: Array<{ name: string }>; groups: Array<{ group: string }> };
                seen.push({ title: u.title, done: u.totals.done, workers: u.workers.map((w) => w.name).sort(), groups: u.groups.map((g) => g.group) });
              } catch {
                return; // the bench closed its dashboard
              }
              await new Promise((r) => setTimeout(r, 100));
            }
          })();
        },
      },
    );
    finished = true;
    await polling;
    expect(run.code, run.stderr).toBe(0);
    const live = seen.filter((s) => s.done > 0);
    expect(live.length, JSON.stringify(seen.slice(-3))).toBeGreaterThan(1);
    expect(live[0]!.title).toBe('bench: cell 1/1, sum-squares/quick on threads×2');
    expect(live.at(-1)!.workers).toEqual(['thread-0', 'thread-1']);
    expect(live.at(-1)!.done).toBeGreaterThan(live[0]!.done);
  }, 90_000);
});
