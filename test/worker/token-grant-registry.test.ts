import { describe, expect, it } from 'vitest';
import { call, postForm, registerClient } from './helpers';
import { GRANT_TYPES } from '../../src/routes/grants/registry';

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

  it('grant_types_supported (RFC 8414 §2), the grant types a client may register (RFC 7591 §2) and the grant types /token serves are the registry of grant handlers', async () => {
    const doc = (await (await call('/.well-known/oauth-authorization-server')).json()) as { grant_types_supported: string[] };
    expect(doc.grant_types_supported).toEqual([...GRANT_TYPES]);
    const client = await registerClient({ grant_types: [...GRANT_TYPES] });
    expect(client.grant_types).toEqual([...GRANT_TYPES]);
    for (const grantType of GRANT_TYPES) {
      // Served: the handler asks for its own parameters.
      const res = await postForm('/token', { grant_type: grantType, client_id: client.client_id });
      expect(res.status, grantType).toBe(400);
      expect(((await res.json()) as { error: string }).error, grantType).toBe('invalid_request');
    }
    const refused = await call('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1:9999/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'client_credentials'],
      }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'invalid_client_metadata', error_description: "Unsupported grant type 'client_credentials'." });
  });
});
