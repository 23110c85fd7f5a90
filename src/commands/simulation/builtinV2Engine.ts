import type { Logger } from 'pino';
import type { V2Engine, V2Outcome, V2Request } from '../../domain/simulation/v2Engine';
import { simulateV2 } from '../../domain/simulation/v2Simulator';

export interface V2Versions {
  modelVersion: string;
  adapterVersion: string;
  commitSha: string;
}

/** The built-in coefficient model (docs/domain.md §2.2), the default V2. `runtime_ms` is whole ms, as the original's. */
export class BuiltinV2Engine implements V2Engine {
  readonly name = 'v2_builtin' as const;

  constructor(
    private readonly versions: V2Versions,
    private readonly logger?: Logger,
  ) {}

  async run(request: V2Request): Promise<V2Outcome> {
    return this.runSync(request);
  }

  runSync(request: V2Request): V2Outcome {
    const started = performance.now();
    try {
      const result = simulateV2(request.input, { ...this.versions, runtimeMs: 0 });
      return { kind: 'answered', result: { ...result, runtime_ms: Math.trunc(performance.now() - started) } };
    } catch (err) {
      this.logger?.error({ err, run_id: request.runId }, 'built-in V2 failed; V1 answered');
      return { kind: 'failed' };
    }
  }
}
