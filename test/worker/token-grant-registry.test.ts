import { describe, expect, it } from 'vitest';
import { postForm, registerClient } from './helpers';

describe('POST /token: the registry of grant handlers', () => {
  it('RFC 6749 §5.2: a grant_type named like an object property (constructor, __proto__, toString) is unsupported_grant_type, never a handler', async () => {
    const client = await registerClient();
    for (const grantType of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await postForm('/token', { grant_type: grantType, client_id: client.client_id });
      expect(res.status, grantType).toBe(400);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(((await res.json()) as { error: string }).error, grantType).toBe('unsupported_grant_type');
    }
  });
});
