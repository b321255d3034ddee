"""Connects with a Python driver and prints the session's "user|database", or "error: "
and the message. Run with Debian's /usr/bin/python3 (python3-psycopg, python3-psycopg2,
python3-sqlalchemy), in the environment a dsqlenv block or the test leaves.

    pyclients.py DRIVER SOURCE
      DRIVER  psycopg (3), psycopg2, sqlalchemy+psycopg2 (postgresql+psycopg2://),
              sqlalchemy (postgresql://), sqlalchemy+psycopg (postgresql+psycopg://)
      SOURCE  env (libpq reads PG*), service (service=NAME; NAME in argv[3]),
              url (the URL in DATABASE_URL)
"""
import os
import sys

QUERY = "select current_user || '|' || current_database()"


def dsn(source):
    return {"env": "", "service": "service=" + (sys.argv[3] if len(sys.argv) > 3 else ""),
            "url": os.environ.get("DATABASE_URL", "")}[source]


def run(driver, source):
    if driver == "psycopg":
        import psycopg
        with psycopg.connect(dsn(source)) as conn:
            return conn.execute(QUERY).fetchone()[0]
    if driver == "psycopg2":
        import psycopg2
        conn = psycopg2.connect(dsn(source))
        try:
            cur = conn.cursor()
            cur.execute(QUERY)
            return cur.fetchone()[0]
        finally:
            conn.close()
    if driver.startswith("sqlalchemy"):
        import sqlalchemy
        scheme = {"sqlalchemy": "postgresql://", "sqlalchemy+psycopg2": "postgresql+psycopg2://",
                  "sqlalchemy+psycopg": "postgresql+psycopg://"}[driver]
        if source == "url":
            url = dsn(source).replace("postgresql://", scheme, 1)
            engine = sqlalchemy.create_engine(url)
        elif source == "env":
            engine = sqlalchemy.create_engine(scheme)  # no host: libpq reads PG*
        else:  # service: libpq's own keyword, passed through to the driver
            engine = sqlalchemy.create_engine(scheme, connect_args={"service": sys.argv[3]})
        try:
            with engine.connect() as conn:
                return conn.execute(sqlalchemy.text(QUERY)).scalar()
        finally:
            engine.dispose()
    raise SystemExit("unknown driver " + driver)


if __name__ == "__main__":
    try:
        print(run(sys.argv[1], sys.argv[2]))
    except Exception as e:  # one line for the test to read
        print("error: %s %s" % (type(e).__name__, str(e).replace("\n", " ")))
        sys.exit(1)
