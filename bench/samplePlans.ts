/** Simulation inputs the benchmarks send: a one-step LLM call, an HTTP call, and a three-step plan. */
export const samplePlans = [
  { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }], budget_cents: 100 },
  {
    plan: [{ skill: 'http_call', params: { url: 'https://api.example.com', timeout: 30 } }],
    budget_cents: 100,
  },
  {
    plan: [
      { skill: 'kv_get', params: { key: 'a' } },
      { skill: 'json_transform', params: { expression: '$.result' } },
      { skill: 'fs_read', params: { path: '/tmp/x' } },
    ],
    budget_cents: 1000,
  },
];
