#!/usr/bin/env bash
# Runs once, when the postgres volume is first initialised (/docker-entrypoint-initdb.d).
# One login role per service, each owning the schema of the same name; a service can read
# and write its own schema only. Passwords come from the postgres container's environment
# (docker-compose.yml), the same values the services put in their <PREFIX>_DATABASE_URL.
#
# CREATE on the database is granted because the migrations run `CREATE SCHEMA IF NOT EXISTS`,
# and PostgreSQL checks that privilege before it notices the schema already exists.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v catalog_password="$CATALOG_DB_PASSWORD" \
    -v credentials_password="$CREDENTIALS_DB_PASSWORD" \
    -v badges_password="$BADGES_DB_PASSWORD" \
    -v gateway_password="$GATEWAY_DB_PASSWORD" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;

CREATE ROLE catalog LOGIN PASSWORD :'catalog_password';
GRANT CONNECT, CREATE ON DATABASE :"db" TO catalog;
CREATE SCHEMA catalog AUTHORIZATION catalog;
ALTER ROLE catalog SET search_path = catalog;

CREATE ROLE credentials LOGIN PASSWORD :'credentials_password';
GRANT CONNECT, CREATE ON DATABASE :"db" TO credentials;
CREATE SCHEMA credentials AUTHORIZATION credentials;
ALTER ROLE credentials SET search_path = credentials;

CREATE ROLE badges LOGIN PASSWORD :'badges_password';
GRANT CONNECT, CREATE ON DATABASE :"db" TO badges;
CREATE SCHEMA badges AUTHORIZATION badges;
ALTER ROLE badges SET search_path = badges;

CREATE ROLE gateway LOGIN PASSWORD :'gateway_password';
GRANT CONNECT, CREATE ON DATABASE :"db" TO gateway;
CREATE SCHEMA gateway AUTHORIZATION gateway;
ALTER ROLE gateway SET search_path = gateway;
SQL
