import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

@Suite struct ImportLabelsEventTests {
    /// A reviewer registered by `import labels` gets the same `reviewer-added` event as one added
    /// with `reviewers add`, naming the file; one already known gets none, and neither does a
    /// reviewer of an import that is refused.
    @Test func importedReviewersGetAReviewerAddedEvent() throws {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,unsafe --seed 1")
        sandbox.run("reviewers add ana")
        sandbox.write("bad.csv", "item,reviewer,label\ni1,cy,safe\ni1,dee,maybe\n")
        #expect(sandbox.run(["import", "labels", sandbox.path("bad.csv"), "--create-items"]).status == 65)
        let file = sandbox.write("labels.csv", "item,reviewer,label\ni1,ana,safe\ni1,bo,unsafe\ni2,bo,safe\ni2,cy,safe\n")
        #expect(sandbox.run(["import", "labels", file, "--create-items"]).status == 0)
        let events = try sandbox.run("log --json").output.split(separator: "\n").map { try JSON.parse(String($0)) }
        let added = events.filter { $0["kind"] == .string("reviewer-added") }
        #expect(added.map { $0["reviewer"]?.textValue } == ["admin", "ana", "bo", "cy"])
        let detail = try #require(added[2]["detail"])
        #expect(detail["name"] == .string("bo") && detail["role"] == .string("reviewer") && detail["source"] == .string(file))
        // The events come before the import's own event, which lists them too.
        #expect(events.map { $0["kind"]?.textValue ?? "" }.suffix(3) == ["reviewer-added", "reviewer-added", "import-labels"])
    }
}
