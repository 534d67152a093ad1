/**
 * Keys made from another string once, then found as the very same string object. V8 hashes a
 * string for a Map lookup once per string object: a key built afresh on every request (a
 * template literal) is flattened and hashed on every lookup, 100–300 ns, where the string it
 * was built before is found in about 15 ns. Given a string that is itself kept (a connection's
 * client address, a cached token's subject), the key it makes is kept too. At most `limit`
 * keys are held; past that it starts afresh, so a flood of new ones costs memory no more.
 */
export function keyMemo(make: (part: string) => string, limit = 10_000): (part: string) => string {
  let made = new Map<string, string>();
  return (part) => {
    let key = made.get(part);
    if (key === undefined) {
      if (made.size >= limit) made = new Map();
      key = make(part);
      made.set(part, key);
    }
    return key;
  };
}
