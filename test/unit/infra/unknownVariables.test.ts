import { configVariables, loadConfig } from '../../../src/infra/config/config';
import {
  closestVariable,
  editDistance,
  unknownVariableWarnings,
} from '../../../src/infra/config/unknownVariables';
import { runbookUrl } from '../../../src/domain/alerts/runbooks';

describe('unknown COSTSIM_* variables', () => {
  test('edit distance counts inserts, deletes and substitutions', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('COSTSIM_DRIFT_TRESHOLD', 'COSTSIM_DRIFT_THRESHOLD')).toBe(1);
  });

  test('a misspelt variable is warned about, naming the closest known one', () => {
    const warnings = unknownVariableWarnings({
      COSTSIM_DRIFT_TRESHOLD: '0.3',
      COSTSIM_V2_SANBOX: 'true',
      COSTSIM_WHOLLY_UNRELATED_THING: 'x',
      COSTSIM_DRIFT_THRESHOLD: '0.2', // known: no warning
      COSTSIM_TEST_ANYTHING: '1', // the test harness's own
      PATH: '/usr/bin',
    });
    expect(warnings).toEqual([
      'unknown variable COSTSIM_DRIFT_TRESHOLD is ignored (did you mean COSTSIM_DRIFT_THRESHOLD?)',
      'unknown variable COSTSIM_V2_SANBOX is ignored (did you mean COSTSIM_V2_SANDBOX?)',
      'unknown variable COSTSIM_WHOLLY_UNRELATED_THING is ignored',
    ]);
    expect(closestVariable('PORTT')).toBe('PORT');
  });

  test('the list of known variables is the schema itself', () => {
    expect(configVariables).toEqual(
      expect.arrayContaining(['PORT', 'COSTSIM_BREAKERS', 'COSTSIM_MAX_BATCH_BYTES']),
    );
  });
});

describe('configuration added for first use', () => {
  test('defaults: 64 MiB provenance writes, no declared breakers, aggregated metrics, bounded clients', () => {
    const c = loadConfig({});
    expect(c.maxBatchBytes).toBe(64 * 1024 * 1024);
    expect(c.declaredBreakers).toEqual([]);
    expect(c.metrics).toEqual({ detail: false, token: undefined });
    expect(c.http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      keepAliveTimeoutMs: 5_000,
      maxConnectionsPerClient: 256,
    });
    expect(c.alertmanager.runbookUrl).toBeUndefined(); // the service's own /docs/runbooks/
  });

  test('COSTSIM_BREAKERS is a comma-separated list of valid names', () => {
    expect(loadConfig({ COSTSIM_BREAKERS: ' pricing_v3, ranker.beta ,pricing_v3' }).declaredBreakers).toEqual(
      ['pricing_v3', 'ranker.beta'],
    );
    expect(() => loadConfig({ COSTSIM_BREAKERS: 'ok,Not-Valid' })).toThrow(/COSTSIM_BREAKERS: "Not-Valid"/);
  });

  test('runbook_url: a base ending in "/" gets the runbook file, any other URL is used as is', () => {
    expect(runbookUrl('http://guard:8000/docs/runbooks/', 'breaker-tripped')).toBe(
      'http://guard:8000/docs/runbooks/breaker-tripped.md',
    );
    expect(runbookUrl('https://wiki.example/costsim', 'canary-failed')).toBe('https://wiki.example/costsim');
  });
});
