import type { Logger } from 'pino';
import type { Config } from '../../infra/config/config';
import type { V2Engine } from '../../domain/simulation/v2Engine';
import { HttpV2Engine } from '../../infra/v2/httpV2Engine';
import { BuiltinV2Engine } from '../simulation/builtinV2Engine';

/** The V2 the canary judges: the configured one (COSTSIM_V2_URL), as the sandbox runs it. */
export function v2EngineFromConfig(config: Config, logger?: Logger): V2Engine {
  return config.v2.url
    ? new HttpV2Engine({ url: config.v2.url, timeoutMs: config.v2.timeoutMs, ...(logger ? { logger } : {}) })
    : new BuiltinV2Engine(
        {
          modelVersion: config.modelVersion,
          adapterVersion: config.adapterVersion,
          commitSha: config.commitSha,
        },
        logger,
      );
}
