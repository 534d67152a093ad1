/** The benchmark's statistics (test/bench/stats.ts): the figures the README quotes are computed by these. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cpuMs, machineTime, median, quantile, stealBetween } from './stats.ts';

describe('bench statistics', function () {
  it('takes the median of an odd count as its middle sample, of an even count as the mean of the middle two', function () {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('takes a quantile by nearest rank', function () {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    assert.equal(quantile(samples, 0.99), 99);
    assert.equal(quantile(samples, 0.5), 50);
    assert.equal(quantile([7], 0.99), 7);
  });

  it('gives the share of CPU time stolen between two readings, and nothing for readings that say nothing', function () {
    assert.equal(stealBetween({ total: 1000, steal: 10 }, { total: 2000, steal: 60 }), 0.05);
    assert.equal(stealBetween({ total: 1000, steal: 10 }, { total: 1000, steal: 10 }), undefined);
    assert.equal(stealBetween(undefined, { total: 2000, steal: 60 }), undefined);
  });

  it("reads a process's CPU time from /proc/<pid>/stat: it grows by what the process spends", function () {
    if (!existsSync(`/proc/${process.pid}/stat`)) this.skip();
    const before = cpuMs(process.pid);
    const used = process.cpuUsage();
    while (process.cpuUsage(used).user < 200_000); // 200 ms of CPU, however long the clock takes
    const grown = cpuMs(process.pid) - before;
    assert.ok(grown >= 180, `${grown} ms`); // the kernel counts in 10 ms ticks
  });

  it("reads the machine's CPU time from /proc/stat where there is one", function () {
    const reading = machineTime();
    if (!existsSync('/proc/stat')) {
      assert.equal(reading, undefined);
      return;
    }
    assert.ok(reading && reading.total > 0 && reading.steal >= 0 && reading.steal <= reading.total, JSON.stringify(reading));
  });
});
