import DocketCommandTestSupport
import DocketCore
import DocketTestSupport
import Foundation
import Testing

/// Issue 15's finding: Dawid–Skene and calibration from one label, one reviewer or one shared item
/// claimed certainty ("converged after 2 iterations", rows of 0 0 1, DS skill 1.000, κ 0.000).
@Suite struct DawidSkeneTooLittleDataTests {
    func project(_ labels: String) -> Sandbox {
        let sandbox = Sandbox()
        sandbox.run("init --labels safe,borderline,unsafe --seed 1")
        sandbox.write("labels.csv", "item,reviewer,label\n" + labels)
        sandbox.run(["import", "labels", sandbox.path("labels.csv"), "--create-items"])
        return sandbox
    }

    static let oneReviewer = "Dawid–Skene compares reviewers on the items they share; there is 1 with labels"

    @Test func oneLabel() throws {
        let sandbox = project("i0,a,unsafe\n")
        #expect(sandbox.run("aggregate --method dawid-skene").output == "Dawid–Skene is undefined: \(Self.oneReviewer).\n")
        let json = try JSON.parse(sandbox.run("aggregate --method dawid-skene --json").output)
        #expect(json["reason"] == .string(Self.oneReviewer) && json["priors"] == .null && json["converged"] == .null)
        let save = sandbox.run("aggregate --method dawid-skene --save")
        #expect(save.errors == "No model was saved: Dawid–Skene is undefined: \(Self.oneReviewer).\n")
        let text = sandbox.run("calibrate").output
        #expect(text.hasSuffix("""
            a              1   0/0         -  -       -                         -         -
            DS skill is undefined: \(Self.oneReviewer).
            a: κ vs others is undefined: no other reviewer has labels.

            """), "\(text)")
        let row = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue[0]
        #expect(row["dawid_skene_skill"] == .null && row["dawid_skene_skill_reason"] == .string(Self.oneReviewer))
        #expect(row["kappa_vs_consensus"] == .null && row["kappa_reason"] == .string("no other reviewer has labels"))
    }

    @Test func oneReviewer() throws {
        let sandbox = project("i0,a,unsafe\ni1,a,safe\ni2,a,safe\n")
        let text = sandbox.run("aggregate --method dawid-skene").output
        #expect(text == "Dawid–Skene is undefined: \(Self.oneReviewer).\n")
        #expect(!text.contains("0.500") && !sandbox.run("calibrate").output.contains("1.000"))
        let row = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue[0]
        #expect(row["dawid_skene_skill"] == .null && row["dawid_skene_skill_reason"] == .string(Self.oneReviewer))
        #expect(row["shared_items"] == .number(0))
    }

    @Test func oneSharedItem() throws {
        let sandbox = project("g0,a,unsafe\ng0,b,safe\ng1,b,safe\n")
        let reason = "1 item has labels from two or more reviewers; Dawid–Skene needs at least 3"
        #expect(sandbox.run("aggregate --method dawid-skene").output == "Dawid–Skene is undefined: \(reason).\n")
        let kappa = "1 item with both the reviewer's label and a consensus of the others; κ vs others needs at least 10"
        let text = sandbox.run("calibrate").output
        #expect(text.hasSuffix("""
            DS skill is undefined: \(reason).
            a: κ vs others is undefined: \(kappa).
            b: κ vs others is undefined: \(kappa).

            """), "\(text)")
        #expect(!text.contains("0.000") && !text.contains("0.250"))
        let rows = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue
        for row in rows {
            #expect(row["kappa_vs_consensus"] == .null && row["kappa_reason"] == .string(kappa) && row["kappa_items"] == .number(1))
            #expect(row["dawid_skene_skill"] == .null && row["dawid_skene_skill_reason"] == .string(reason))
        }
    }

    /// A fitted model: the class no item has is an undefined row (it read 0 0 1), the others are
    /// estimates; below ten shared items the DS skill is undefined, from ten it is reported.
    @Test func rowsWithoutDataAndTheMinimum() throws {
        // Three items, two reviewers agreeing: safe, safe, unsafe. No item is borderline.
        let sandbox = project("i0,a,safe\ni0,b,safe\ni1,a,safe\ni1,b,safe\ni2,a,unsafe\ni2,b,unsafe\n")
        let text = sandbox.run("aggregate --method dawid-skene").output
        let reason = "no item the reviewer labelled is estimated to be of this true class"
        #expect(text.contains("""
            a (rows: true label; columns: given)
                         safe  borderline  unsafe
            safe        1.000       0.000   0.000
            borderline      -           -       -
            unsafe      0.000       0.000   1.000
            borderline: undefined: \(reason).

            """), "\(text)")
        let json = try JSON.parse(sandbox.run("aggregate --method dawid-skene --json").output)
        #expect(json["confusion"]?["a"]?["borderline"] == .null)
        #expect(abs(try #require(json["confusion"]?["a"]?["safe"]?["safe"]?.numberValue) - 1) < 1e-9)
        #expect(json["confusion_reason"] == .object([("a", .object([("borderline", .string(reason))])), ("b", .object([("borderline", .string(reason))]))]))
        let three = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue[0]
        #expect(three["dawid_skene_skill"] == .null)
        #expect(three["dawid_skene_skill_reason"] == .string("3 items shared with other reviewers; DS skill needs at least 10"))
        // Ten shared items: the skill is reported (both always agree, so it is 1 to rounding) and κ
        // is defined, with no reason.
        var more = "item,reviewer,label\n"
        for i in 3..<10 { more += "i\(i),a,\(i % 2 == 0 ? "safe" : "unsafe")\ni\(i),b,\(i % 2 == 0 ? "safe" : "unsafe")\n" }
        sandbox.write("more.csv", more)
        sandbox.run(["import", "labels", sandbox.path("more.csv"), "--create-items"])
        let ten = try JSON.parse(sandbox.run("calibrate --json").output).arrayValue[0]
        #expect(ten["shared_items"] == .number(10) && ten["dawid_skene_skill_reason"] == .null && ten["kappa_reason"] == .null)
        #expect(abs(try #require(ten["dawid_skene_skill"]?.numberValue) - 1) < 1e-9)
        #expect(ten["kappa_vs_consensus"] == .number(1) && ten["kappa_items"] == .number(10))
    }
}
