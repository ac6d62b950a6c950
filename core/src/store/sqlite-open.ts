import { DatabaseSync } from 'node:sqlite';
import { Errors } from '../errors.ts';

/**
 * Opens one of the data directory's SQLite files and applies its pragmas. A file SQLite cannot read (corrupt,
 * not a database, unreadable) fails start with an error naming it, instead of SQLite's bare "file is not a database".
 */
export function openSqlite(file: string, pragmas: string): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file);
    db.exec(pragmas);
    db.prepare('SELECT COUNT(*) FROM sqlite_schema').get();
    return db;
  } catch (error) {
    db?.close();
    throw new Errors.StoreUnreadable(
      `cannot open ${file}: ${(error as Error).message}; restore it (with its -wal file) from a backup, or move it aside to start that store empty`,
      { cause: error },
    );
  }
}
