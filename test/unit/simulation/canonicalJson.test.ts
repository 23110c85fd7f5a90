import { canonicalJson } from '../../../src/domain/simulation/canonicalJson';
import { inputHash, planHash } from '../../../src/domain/simulation/simulationHashes';

/**
 * Known answers from the original's own encoder: the expected strings and hashes below were produced by
 * CPython 3.11, `json.dumps(value, sort_keys=True, separators=(",", ":"))` and hashlib.sha256.
 */
describe('canonical JSON (the original service hashing)', () => {
  const plan = [
    { skill: 'llm_invoke', params: { prompt: 'Héllo 😀\n' }, iterations: 2 },
    { skill: 'http_call', params: { url: 'https://api.example.com', timeout: 0.5 } },
  ];

  test('keys sorted, no whitespace, non-ASCII escaped as lowercase \\uXXXX surrogate pairs', () => {
    expect(canonicalJson({ plan, budget_cents: 100 })).toBe(
      '{"budget_cents":100,"plan":[{"iterations":2,"params":{"prompt":"H\\u00e9llo \\ud83d\\ude00\\n"},"skill":"llm_invoke"},' +
        '{"params":{"timeout":0.5,"url":"https://api.example.com"},"skill":"http_call"}]}',
    );
  });

  test('the input hash and plan hash equal the original service', () => {
    const hash = '86e534fabfa36df65746843aaaf9e2657b4bbb81e71927e03791d3ce3415e0d5';
    expect(inputHash({ plan, budget_cents: 100 })).toBe(hash);
    expect(planHash({ plan, budget_cents: 100 })).toBe(hash.slice(0, 16));
  });

  test('numbers are written as Python repr writes floats', () => {
    expect(
      canonicalJson([1e-5, 0.0001, 0.1 + 0.2, 123456789.123, 2 ** 52, -0.00012, 1e-7, 1.5e-10, 6.02e23]),
    ).toBe(
      '[1e-05,0.0001,0.30000000000000004,123456789.123,4503599627370496,-0.00012,1e-07,1.5e-10,6.02e+23]',
    );
  });

  test('the one known difference: an integral float (JSON 30.0) is written as an integer', () => {
    // Python kept 30.0 a float and wrote "30.0"; a parsed JS number cannot remember it. Documented in
    // canonicalJson.ts; clients sending whole numbers as integers (the usual case) hash identically.
    expect(canonicalJson({ timeout: 30.0 })).toBe('{"timeout":30}');
  });

  test('keys sort by code point (U+FFFF before U+1F600, unlike UTF-16 order), DEL and controls escaped', () => {
    expect(canonicalJson({ '😀': 2, '\uffff': 1, a: '\u007f\t"\\' })).toBe(
      '{"a":"\\u007f\\t\\"\\\\","\\uffff":1,"\\ud83d\\ude00":2}',
    );
  });
});
