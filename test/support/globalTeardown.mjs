export default async function globalTeardown() {
  const pg = globalThis.__embeddedPostgres;
  if (pg) await pg.stop();
}
