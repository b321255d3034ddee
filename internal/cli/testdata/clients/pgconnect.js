// Connects with node-postgres once per URL argument, given nothing but
// {connectionString: URL}, and prints one line per URL: the session's
// "user|database|application_name|search_path", or "error: " and the message.
// Run with NODE_PATH pointing at the node_modules that hold pg.
const { Client } = require('pg');

const query = "select current_user as u, current_database() as d, current_setting('application_name') as a, " +
  "current_setting('search_path') as p";

(async () => {
  for (const url of process.argv.slice(2)) {
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      const r = (await client.query(query)).rows[0];
      console.log([r.u, r.d, r.a, r.p].join('|'));
    } catch (err) {
      console.log('error: ' + String((err && err.message) || err).replace(/\n/g, ' '));
    } finally {
      await client.end().catch(() => {});
    }
  }
})();
