import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { costsimGuardDashboardJson } from './costsimGuardDashboard';

/** `npm run dashboards`: writes deploy/grafana/costsim-guard.json from the code beside it. */
export const DASHBOARD_FILE = join(__dirname, 'costsim-guard.json');

if (require.main === module) {
  writeFileSync(DASHBOARD_FILE, costsimGuardDashboardJson());
  process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);
}
