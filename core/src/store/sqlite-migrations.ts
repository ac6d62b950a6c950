/**
 * Numbered, append-only schema migrations for the embedded SQLite store. Never edit a released entry: add one.
 * Each runs in its own transaction and is recorded in `schema_migrations`.
 */
export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: 'registry, audit, api keys',
    sql: `
      CREATE TABLE models (
        name TEXT PRIMARY KEY,
        description TEXT NOT NULL DEFAULT '',
        tasks TEXT NOT NULL DEFAULT '[]',
        tags TEXT NOT NULL DEFAULT '[]',
        owner TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE versions (
        model TEXT NOT NULL REFERENCES models(name),
        version TEXT NOT NULL,
        files TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        metadata TEXT NOT NULL,
        status TEXT NOT NULL,
        scan_status TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, version)
      );
      CREATE TABLE version_files (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        digest TEXT NOT NULL,
        FOREIGN KEY (model, version) REFERENCES versions(model, version)
      );
      CREATE INDEX version_files_digest ON version_files(digest);
      CREATE TABLE aliases (
        model TEXT NOT NULL REFERENCES models(name),
        alias TEXT NOT NULL,
        version TEXT NOT NULL,
        PRIMARY KEY (model, alias),
        FOREIGN KEY (model, version) REFERENCES versions(model, version)
      );
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before_digest TEXT,
        after_digest TEXT,
        details TEXT
      );
      CREATE INDEX audit_log_target ON audit_log(target);
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        salt TEXT NOT NULL,
        hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        models TEXT,
        rate_limit TEXT,
        budget TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
      );
    `,
  },
  {
    id: 2,
    name: 'scan findings',
    sql: `
      CREATE TABLE scan_findings (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        scanner TEXT NOT NULL,
        scanner_version TEXT NOT NULL,
        severity TEXT NOT NULL,
        file TEXT NOT NULL,
        rule TEXT NOT NULL,
        detail TEXT NOT NULL,
        scanned_at TEXT NOT NULL,
        FOREIGN KEY (model, version) REFERENCES versions(model, version)
      );
      CREATE INDEX scan_findings_version ON scan_findings(model, version);
      CREATE INDEX versions_scan_status ON versions(scan_status);
    `,
  },
  {
    id: 3,
    name: 'scanner versions per version',
    sql: 'ALTER TABLE versions ADD COLUMN scanned_with TEXT;',
  },
];
