// Connects with postgres.js (npm postgres) once per argument and prints one line each: the
// session's "user|database", or "error: CODE message". Run with NODE_PATH pointing at the
// node_modules that hold postgres, in the environment a dsqlenv block leaves.
//
//   env    the README's two lines: postgres() reads PGHOST, PGPORT, PGUSER, PGPASSWORD,
//          PGDATABASE from the environment, and the CA is pinned by hand
//   json   the same, after copying `dsqlenv json PROFILE` (dsqlenv on PATH) into process.env
//   token  the same, with a fresh `dsqlenv token PROFILE` for every new connection
//   bare   postgres() alone: it ignores PGSSLMODE and PGSSLROOTCERT (it reads PGSSL)
//   url    postgres(DATABASE_URL, {ssl: {ca}}): it sends sslrootcert to the server
const fs = require('fs');
const { execFileSync } = require('child_process');
const postgres = require('postgres');

const clients = {
  env: () => {
    return postgres({ ssl: { ca: fs.readFileSync(process.env.PGSSLROOTCERT) } });
  },
  json: (profile) => {
    Object.assign(process.env, JSON.parse(execFileSync('dsqlenv', ['json', profile])));
    return postgres({ ssl: { ca: fs.readFileSync(process.env.PGSSLROOTCERT) } });
  },
  token: (profile) => {
    return postgres({
      ssl: { ca: fs.readFileSync(process.env.PGSSLROOTCERT) },
      pass: () => execFileSync('dsqlenv', ['token', profile]).toString().trim(),
    });
  },
  bare: () => postgres(),
  url: () => postgres(process.env.DATABASE_URL, { ssl: { ca: fs.readFileSync(process.env.PGSSLROOTCERT) } }),
};

(async () => {
  for (const arg of process.argv.slice(2)) {
    const [mode, profile] = arg.split(':');
    let sql;
    try {
      sql = clients[mode](profile);
      const [r] = await sql`select current_user || '|' || current_database() as s`;
      console.log(r.s);
    } catch (err) {
      console.log('error: ' + (err && err.code ? err.code + ' ' : '') + String((err && err.message) || err).replace(/\n/g, ' '));
    } finally {
      if (sql) await sql.end({ timeout: 5 }).catch(() => {});
    }
  }
})();
