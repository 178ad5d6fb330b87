#!/usr/bin/env bash
# The vectable demo on the bundled real data (5,000 Debian packages with 384-d
# all-MiniLM-L6-v2 embeddings), in the default database ./data (override with VECTABLE_DB),
# created there with --create beside data/samples/.
# Run it twice: the second run's first kNN query maps the saved index instead of building it.
set -euo pipefail
cd "$(dirname "$0")/.."

VT=./target/release/vectable
DB=${VECTABLE_DB:-./data}
SAMPLE=data/samples/debian_packages_5k.parquet

if ! "$VT" "$DB" --create --mode csv -c "SHOW TABLES" | grep -qx packages; then
    echo "==> creating table packages in $DB from $SAMPLE"
    "$VT" "$DB" --timer \
        -c "CREATE TABLE packages (id INTEGER PRIMARY KEY, name TEXT NOT NULL, section TEXT,
              component TEXT, priority TEXT, installed_size INTEGER, version TEXT,
              description TEXT, embedding VECTOR(384))" \
        -c "COPY packages FROM '$SAMPLE' WITH (FORMAT parquet)" \
        -c "CREATE INDEX packages_section ON packages (section)" \
        -c "SELECT count(*) AS rows_loaded FROM packages"
fi

echo
echo "==> 1. the 10 packages nearest to curl (cosine distance, HNSW index)"
"$VT" "$DB" --timer \
    -c "SELECT name, section, embedding <=> (SELECT embedding FROM packages WHERE name = 'curl') AS distance
        FROM packages ORDER BY distance LIMIT 10" \
    -c ".indexes"

echo
echo "==> 2. the 10 packages nearest to postgresql in section 'database'"
echo "    (the sample holds names 0ad…libavcall1, so the query vector is check-postgres,"
echo "     'script for monitoring PostgreSQL databases')"
"$VT" "$DB" --timer \
    -c "SELECT name, section, embedding <=> (SELECT embedding FROM packages WHERE name = 'check-postgres') AS distance
        FROM packages WHERE section = 'database' ORDER BY distance LIMIT 10"
echo "    how it ran (the B-tree index on section gives the candidates; EXPLAIN ANALYZE checks the recall):"
"$VT" "$DB" \
    -c "EXPLAIN ANALYZE SELECT name FROM packages WHERE section = 'database'
        ORDER BY embedding <=> (SELECT embedding FROM packages WHERE name = 'check-postgres') LIMIT 10"

echo
echo "==> 3. packages per section"
"$VT" "$DB" --timer \
    -c "SELECT section, count(*) AS packages FROM packages GROUP BY section ORDER BY packages DESC, section"
