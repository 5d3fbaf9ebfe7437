import DocketCore
import DocketStore
import DocketTestSupport

extension Fixtures {
    /// A store in a file (or in memory with ":memory:") with a project and items.
    static func store(
        path: String, settings: ProjectSettings = ProjectSettings(labels: ["safe", "unsafe"], overlap: 2, explore: 0),
        items: [ItemDraft], at now: Instant = Instant(milliseconds: 1_795_000_000_000)
    ) throws -> SQLiteStore {
        let store = try SQLiteStore.create(path: path, settings: settings, at: now)
        _ = try store.importItems(update: false, source: "fixture", at: now) { sink in
            for item in items { _ = try sink.add(item) }
            return .commit(rejected: 0)
        }
        return store
    }
}
