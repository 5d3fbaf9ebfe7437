import CSQLite

/// One numbered migration from `Schema/`.
struct Migration: Sendable {
    var version: Int
    var name: String
    var sql: String
}

/// The schema files this binary embeds, for tests that compare them with `Schema/`.
public enum SchemaInfo {
    public static var embedded: [(name: String, sql: String)] { EmbeddedSchema.migrations.map { ($0.name, $0.sql) } }
    public static var latestVersion: Int { EmbeddedSchema.migrations.last?.version ?? 0 }
}

enum Migrator {
    /// Applies every embedded migration newer than the database's `user_version`, each in its own transaction.
    /// `afterApplying` runs inside each migration's transaction, after its SQL, with its version.
    static func migrate(_ connection: Connection, afterApplying: (Int) throws -> Void = { _ in }) throws(StoreError) {
        let current: Int
        do { current = Int(try connection.int("PRAGMA user_version")) } catch { throw .sqlite(error) }
        let latest = SchemaInfo.latestVersion
        if current > latest { throw .newerSchema(found: current, supported: latest) }
        for migration in EmbeddedSchema.migrations where migration.version > current {
            do {
                try connection.transaction(.immediate) { () throws(SQLiteError) in
                    // Another process may have migrated while we waited for the lock.
                    let now = Int(try connection.int("PRAGMA user_version"))
                    guard now < migration.version else { return }
                    try connection.execute(migration.sql)
                    do { try afterApplying(migration.version) } catch let error as SQLiteError { throw error } catch {
                        throw SQLiteError(code: SQLITE_ERROR, extendedCode: SQLITE_ERROR, message: "\(error)", sql: nil)
                    }
                    try connection.execute("PRAGMA user_version = \(migration.version)")
                }
            } catch let error as SQLiteError {
                throw .migrationFailed(name: migration.name, reason: error.message)
            } catch {
                throw .migrationFailed(name: migration.name, reason: "\(error)")
            }
        }
    }
}
