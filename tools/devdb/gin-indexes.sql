-- GIN indexes that let PostgreSQL serve FerretDB v1.24's equality filters.
--
-- FerretDB's postgresql handler pushes a top-level equality filter `{field: value}` down as
-- `_jsonb->'field' @> '<value>'`, but the indexes it creates itself are btree indexes on `(_jsonb->'field')`, and
-- a btree index never serves `@>`: without help every such query, even one by _id, reads the whole table. A GIN
-- index on the same expression serves it. This file adds one for every top-level field of every index FerretDB
-- creates (the unique _id index of each collection included):
--   * an event trigger adds them in the same transaction as FerretDB's CREATE INDEX, so a collection or index is
--     never without them once it is visible;
--   * ferretdb_gin.reconcile() adds any that are missing (indexes created before this file was installed).
-- devdb runs this file at every start. On your own PostgreSQL, run it once as a superuser in FerretDB's database
-- (event triggers need one), e.g. `psql -d ferretdb -f gin-indexes.sql`; running it again is harmless.
-- Nested fields (`a.b`) get none: FerretDB does not push filters on them down.
-- A GIN index outlives a dropped FerretDB index (dropIndexes): it only costs writes, and goes with the collection.

CREATE SCHEMA IF NOT EXISTS ferretdb_gin;

-- Adds the GIN indexes for one index, if it is a FerretDB btree index on a collection table.
CREATE OR REPLACE FUNCTION ferretdb_gin.add_for_index(index_oid oid) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  ix record;
  field text;
  gin_name text;
BEGIN
  SELECT n.nspname AS schema_name, t.relname AS table_name, i.indnkeyatts AS keys, am.amname AS method
    INTO ix
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
   WHERE i.indexrelid = index_oid;
  -- FerretDB's own metadata table and non-FerretDB schemas are left alone.
  IF NOT FOUND OR ix.method <> 'btree' OR ix.table_name LIKE '\_ferretdb\_%'
     OR to_regclass(format('%I._ferretdb_database_metadata', ix.schema_name)) IS NULL THEN
    RETURN;
  END IF;
  FOR k IN 1 .. ix.keys LOOP
    -- A top-level key reads `((_jsonb -> 'field'::text))`; a nested one has a second `->` and does not match.
    field := substring(pg_get_indexdef(index_oid, k, false) FROM $re$^\(+_jsonb -> '((?:[^']|'')*)'::text\)+$$re$);
    CONTINUE WHEN field IS NULL;
    field := replace(field, '''''', '''');
    -- Index names are unique per schema (a FerretDB database): derive the name from table and field.
    gin_name := left(ix.table_name, 40) || '_' || left(md5(ix.table_name || '.' || field), 8) || '_gin';
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb -> %L))',
                   gin_name, ix.schema_name, ix.table_name, field);
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION ferretdb_gin.on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    PERFORM ferretdb_gin.add_for_index(cmd.objid);
  END LOOP;
END $fn$;

-- Returns how many btree indexes it looked at.
CREATE OR REPLACE FUNCTION ferretdb_gin.reconcile() RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  ix record;
  seen integer := 0;
BEGIN
  FOR ix IN SELECT i.indexrelid FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_am am ON am.oid = ic.relam
             WHERE am.amname = 'btree' AND ic.relnamespace NOT IN (
                     SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast'))
  LOOP
    PERFORM ferretdb_gin.add_for_index(ix.indexrelid);
    seen := seen + 1;
  END LOOP;
  RETURN seen;
END $fn$;

DROP EVENT TRIGGER IF EXISTS ferretdb_gin_on_create_index;
CREATE EVENT TRIGGER ferretdb_gin_on_create_index ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION ferretdb_gin.on_create_index();

SELECT ferretdb_gin.reconcile();
