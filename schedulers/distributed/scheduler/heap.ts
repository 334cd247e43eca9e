/**
 * A binary min-heap by priority, with lazy deletion: entries whose `valid` test fails are
 * skipped when popped, so removing a task from a queue (cancel, steal, worker loss) is O(1).
 */
export class PriorityQueue<T> {
  private readonly items: T[] = [];
  constructor(
    private readonly priority: (item: T) => number,
    private readonly valid: (item: T) => boolean,
  ) {}

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    const p = this.priority(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.priority(items[parent]!) <= p) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  /** The valid item of smallest priority, removed; undefined when none is left. */
  pop(): T | undefined {
    while (this.items.length) {
      const top = this.takeTop();
      if (this.valid(top)) return top;
    }
    return undefined;
  }

  private takeTop(): T {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length) {
      const n = items.length;
      const p = this.priority(last);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.priority(items[r]!) < this.priority(items[l]!) ? r : l;
        if (this.priority(items[c]!) >= p) break;
        items[i] = items[c]!;
        i = c;
      }
      items[i] = last;
    }
    return top;
  }
}
