/** Broad scope → the narrower scopes it implies, e.g. `{ 'mcp:tools:write': ['mcp:tools:read'] }`. */
export type ScopeHierarchy = Readonly<Record<string, readonly string[]>>;

/**
 * Builds `(granted, required) => boolean`: true when every required scope is granted directly or
 * implied (transitively, cycles tolerated) by a granted scope. The closure is computed once here,
 * so each request only does set lookups. MCP 2026-07: honour the scope hierarchy.
 */
export function createScopeMatcher(hierarchy: ScopeHierarchy = {}): (granted: readonly string[], required: readonly string[]) => boolean {
  const children = (scope: string): readonly string[] => (Object.hasOwn(hierarchy, scope) ? hierarchy[scope]! : []);
  const implied = new Map<string, Set<string>>();
  for (const scope of Object.keys(hierarchy)) {
    const seen = new Set<string>();
    const stack = [...children(scope)];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...children(next));
    }
    implied.set(scope, seen);
  }
  // Checked on every request: plain loops, and a plain `includes` without a hierarchy.
  if (implied.size === 0)
    return (granted, required) => {
      for (const need of required) if (!granted.includes(need)) return false;
      return true;
    };
  return (granted, required) => {
    for (const need of required) {
      let found = false;
      for (const have of granted)
        if (have === need || implied.get(have)?.has(need) === true) {
          found = true;
          break;
        }
      if (!found) return false;
    }
    return true;
  };
}
