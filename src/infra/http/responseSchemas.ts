import { z } from 'zod';

/** Response shapes shared by every slice's route docs (the problem body, open JSON objects). */

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; `errors` names each bad field' });

/** A JSON object whose fields this contract does not pin down (free-form details, payloads). */
export const jsonObject = z.record(z.string(), z.unknown());

export const isoString = z.string().meta({ format: 'date-time' });
export const nullableIso = isoString.nullable();
