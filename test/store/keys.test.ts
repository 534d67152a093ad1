/** Keys made once per part (store/keys.ts): what the rate limiter's Map lookups are found by. */
import assert from 'node:assert/strict';
import { keyMemo } from '../../functions/src/store/keys.ts';

describe('keyMemo', function () {
  it('makes each key once, and gives that same string for the same part afterwards', function () {
    const made: string[] = [];
    const keyOf = keyMemo((part) => {
      made.push(part);
      return `ip:${part}`;
    });
    assert.equal(keyOf('127.0.0.1'), 'ip:127.0.0.1');
    assert.equal(keyOf('127.0.0.1'), 'ip:127.0.0.1');
    assert.equal(keyOf('10.0.0.1'), 'ip:10.0.0.1');
    assert.deepEqual(made, ['127.0.0.1', '10.0.0.1']);
  });

  it('holds at most its limit of keys: past it, it starts afresh and makes them again', function () {
    let makes = 0;
    const keyOf = keyMemo((part) => {
      makes += 1;
      return `user:${part}`;
    }, 2);
    keyOf('a');
    keyOf('b');
    keyOf('c'); // the third: the two before are forgotten
    assert.equal(makes, 3);
    keyOf('c');
    assert.equal(makes, 3);
    assert.equal(keyOf('a'), 'user:a');
    assert.equal(makes, 4);
  });
});
