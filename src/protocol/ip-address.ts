// IP address text forms as numbers: one parser for the SSRF checks and for rate-limit buckets.

/** Dotted-decimal IPv4 (four decimal octets, no leading zeros) as a number. */
export function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.reduce((value, part) => (value << 8n) | BigInt(part), 0n);
}

/** RFC 4291 §2.2 text form (with `::` and an optional dotted IPv4 tail) as a 128-bit number. */
export function parseIpv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zone identifiers (RFC 6874) name a local interface
  const tail = /(?<=:)(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (tail !== undefined) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, -tail.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  let groups = groupsOf(halves[0]!);
  if (halves.length === 2) {
    const rest = groupsOf(halves[1]!);
    const missing = 8 - groups.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...groups, ...Array<string>(missing).fill('0'), ...rest];
  }
  if (groups.length !== 8 || !groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return groups.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

/** An IPv4 address as dotted decimal. */
export function formatIpv4(address: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((address >> shift) & 255n)).join('.');
}
