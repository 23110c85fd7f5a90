import { createHash } from 'node:crypto';
import { parse } from 'lossless-json';
import { asFloat, canonicalJson } from '../../../src/domain/simulation/canonicalJson';
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

  test('numbers as the client wrote them (lossless): 30.0 and 1e3 were floats, -0 the int 0', () => {
    // python3 -c 'import json; print(json.dumps(json.loads("[1e3, -0, 1E400, -1e400, 12345678901234567890, 1.0e-7]")))'
    //   [1000.0, 0, Infinity, -Infinity, 12345678901234567890, 1e-07]
    const parsed = parse('[1e3, -0, 1E400, -1e400, 12345678901234567890, 1.0e-7, 30.0, -0.0, 1e16]');
    expect(canonicalJson(parsed)).toBe(
      '[1000.0,0,Infinity,-Infinity,12345678901234567890,1e-07,30.0,-0.0,1e+16]',
    );
    // a parsed JS number has forgotten: integral means int
    expect(canonicalJson({ timeout: 30.0 })).toBe('{"timeout":30}');
    expect(canonicalJson(asFloat(30))).toBe('30.0');
  });

  test('the input hash sees 30.0 as a float (CPython hashes of both forms)', () => {
    // python3: json.dumps({"plan":plan,"budget_cents":100},sort_keys=True,separators=(",",":")) + sha256,
    // with timeout 30.0 and with timeout 30
    const floatPlan = parse(
      '[{"skill":"http_call","params":{"timeout":30.0,"url":"https://api.example.com"}}]',
    );
    const intPlan = parse('[{"skill":"http_call","params":{"timeout":30,"url":"https://api.example.com"}}]');
    expect(inputHash({ plan: floatPlan, budget_cents: 100 })).toBe(
      'fe85b8fa9fe89ef79b0c234b1f11cc0ed7cdef8f3f425718420221d7886a6b77',
    );
    expect(inputHash({ plan: intPlan, budget_cents: 100 })).toBe(
      'd8b55e7fed92ac62857c2a0349112a722715a523975a15195caea3390ee3123c',
    );
  });

  test('characters beyond the BMP in keys and values, DEL, NUL and controls; -0.0, 1e-07, 1e+16', () => {
    // python3: obj={"b":1,"a":[1.5,-0.0,1e-07,1e16,30.0,1000.0,0],"é":"😀","\U0001F600k":"v","\uffff":1,
    //   "z\u007f":"\u0000\t\n"}; s=json.dumps(obj,sort_keys=True,separators=(",",":")); sha256(s)
    const obj = parse(
      String.raw`{"b":1,"a":[1.5,-0.0,1e-07,1e16,30.0,1000.0,0],"é":"😀","😀k":"v","\uffff":1,"z\u007f":"\u0000\t\n"}`,
    );
    const text = canonicalJson(obj);
    expect(text).toBe(
      String.raw`{"a":[1.5,-0.0,1e-07,1e+16,30.0,1000.0,0],"b":1,"z\u007f":"\u0000\t\n","\u00e9":"\ud83d\ude00","\uffff":1,"\ud83d\ude00k":"v"}`,
    );
    expect(createHash('sha256').update(text).digest('hex')).toBe(
      'bfb975c5704cf8126bbc43ef1be2d766c89ae02102585d7e7db1269266430465',
    );
  });

  test('a lone surrogate sorts by its own code point (below U+E000), a pair above U+FFFF', () => {
    expect(canonicalJson({ '\udc00': 1, '\ud83d\ude00': 2, '\ue000': 3 })).toBe(
      '{"\\udc00":1,"\\ue000":3,"\\ud83d\\ude00":2}',
    );
  });

  test('keys sort by code point (U+FFFF before U+1F600, unlike UTF-16 order), DEL and controls escaped', () => {
    expect(canonicalJson({ '😀': 2, '\uffff': 1, a: '\u007f\t"\\' })).toBe(
      '{"a":"\\u007f\\t\\"\\\\","\\uffff":1,"\\ud83d\\ude00":2}',
    );
  });
});
