import Foundation
import Testing

/// The store seam holds in the source: commands name no backend, errors crossing the seam carry
/// no backend type, and the core's test support links no backend.
@Suite struct StoreSeamTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized

    /// `(file:line, text)` of every line of the Swift files under `folder` that contains one of `words`.
    func lines(in folder: String, containing words: [String]) throws -> [String] {
        let directory = Self.sources.appendingPathComponent(folder)
        var found: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".swift") {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where words.contains(where: { line.contains($0) }) {
                found.append("\(folder)/\(name):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        return found
    }

    /// Commands receive `any ReviewStore` from `StoreFactory` (in DocketStore, the one place that
    /// picks a backend); none names the SQLite backend or its types.
    @Test func commandsNameNoBackend() throws {
        #expect(try lines(in: "DocketCommands", containing: ["SQLiteStore", "SQLiteError", "import CSQLite", "PostgresStore", "PostgresFailure", "PostgresLink", "import PostgresNIO"]) == [])
    }

    /// No case of `StoreError` carries an SQLite type, so commands match on neutral cases.
    @Test func storeErrorsAreBackendNeutral() throws {
        let cases = try lines(in: "DocketStore", containing: ["    case "]).filter { $0.hasPrefix("DocketStore/StoreError.swift:") }
        #expect(!cases.isEmpty)
        #expect(cases.filter { $0.contains("SQLite") } == [])
    }

    /// The core tests' support links neither the store (SQLite) nor the commands (readline).
    @Test func coreTestSupportImportsOnlyTheCore() throws {
        let imports = try lines(in: "DocketTestSupport", containing: ["import "]).filter { $0.contains(": import ") || $0.contains(": @testable import ") }
        #expect(!imports.isEmpty)
        #expect(imports.filter { $0.contains("DocketStore") || $0.contains("DocketCommands") || $0.contains("CSQLite") || $0.contains("CReadline") } == [])
    }
}
