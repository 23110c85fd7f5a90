import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyConfigError, loadApiKeys, sha256Hex } from '../../../src/infra/http/auth';

const dir = () => mkdtempSync(join(tmpdir(), 'costsim-keys-'));

describe('API keys', () => {
  test('configured keys are validated and used as given', () => {
    const json = JSON.stringify([
      { id: 'a', key_sha256: sha256Hex('k').toUpperCase(), tenant_id: null, scopes: ['read'] },
    ]);
    const loaded = loadApiKeys({ json, dataDir: dir() });
    expect(loaded.configured).toBe(true);
    expect(loaded.generatedKey).toBeUndefined();
    expect(loaded.keys[0]!.key_sha256).toBe(sha256Hex('k'));
  });

  test('a bad key list names the problem', () => {
    expect(() => loadApiKeys({ json: '{not json', dataDir: dir() })).toThrow(
      /COSTSIM_API_KEYS: not valid JSON/,
    );
    expect(() =>
      loadApiKeys({
        json: JSON.stringify([{ id: 'a', key_sha256: 'abc', tenant_id: null, scopes: ['root'] }]),
        dataDir: dir(),
      }),
    ).toThrow(ApiKeyConfigError);
  });

  test('with no keys (or an empty list) an admin key is generated once and kept private', () => {
    const dataDir = dir();
    const first = loadApiKeys({ json: '[]', dataDir });
    expect(first.configured).toBe(false);
    expect(first.generatedKey).toMatch(/^csg_/);
    expect(first.keys[0]).toMatchObject({ tenant_id: null, scopes: expect.arrayContaining(['admin']) });
    expect(first.keys[0]!.key_sha256).toBe(sha256Hex(first.generatedKey!));
    const file = join(dataDir, 'admin-api-key');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.generatedKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = loadApiKeys({ dataDir });
    expect(second.generatedKey).toBeUndefined(); // printed only when created
    expect(second.keys[0]!.key_sha256).toBe(first.keys[0]!.key_sha256);
  });
});
