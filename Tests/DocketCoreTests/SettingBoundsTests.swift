import Foundation
import Testing

@testable import DocketCore

/// One rule for every numeric setting, whether it comes from `init` flags (ProjectSettings) or
/// from docket.yaml (TaskDefinition.read).
@Suite struct SettingBoundsTests {
    func problems(_ json: String) throws -> [FieldProblem] {
        guard case .invalid(let problems) = TaskDefinition.read(try JSON.parse(json)) else { return [] }
        return problems
    }

    @Test func settingsOutsideTheirRangeAreRefusedWithTheBound() {
        #expect(throws: CoreError.invalidSetting(name: "overlap", value: "9007199254740993", reason: "give a whole number of reviewers from 1 to 100")) {
            try ProjectSettings(overlap: 9_007_199_254_740_993).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "budget", value: "-1", reason: "give a whole number of items from 0 to 1000000000")) {
            try ProjectSettings(budget: -1).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "weights", value: "1e+308", reason: "the weight of diversity must be a number from 0 to 1000")) {
            try ProjectSettings(weights: UtilityWeights(risk: 1, uncertainty: 1, diversity: 1e308)).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "explore", value: "nan", reason: "the exploration share must be between 0 and 1")) {
            try ProjectSettings(explore: .nan).validate()
        }
        #expect(throws: CoreError.invalidSetting(name: "lease", value: "150000000000000", reason: "give a number of minutes from 1 to 10080 (one week)")) {
            try ProjectSettings(leaseSeconds: 9_000_000_000_000_000).validate()
        }
        #expect(throws: Never.self) { try ProjectSettings(overlap: 100, budget: 1_000_000_000, explore: 1, leaseSeconds: 604_800).validate() }
        #expect(ProjectSettings(overlap: 0, budget: -1, explore: 2, leaseSeconds: 0).numericProblems.count == 4)
    }

    @Test func weightsOnTheCommandLineAreBoundedAndNamedOnce() throws {
        #expect(throws: CoreError.invalidSetting(name: "weights", value: "risk=1e308", reason: "the weight of risk must be a number from 0 to 1000")) {
            try UtilityWeights.parse("risk=1e308")
        }
        #expect(throws: CoreError.invalidSetting(name: "weights", value: "risk=inf", reason: "the weight of risk must be a number from 0 to 1000")) {
            try UtilityWeights.parse("risk=inf")
        }
        #expect(throws: CoreError.invalidSetting(name: "weights", value: "risk=1,risk=2", reason: "the weight of risk is given twice")) {
            try UtilityWeights.parse("risk=1,risk=2")
        }
        #expect(try UtilityWeights.parse("risk=1000,uncertainty=0,diversity=0") == UtilityWeights(risk: 1000, uncertainty: 0, diversity: 0))
    }

    @Test func theDefinitionFileSharesTheRule() throws {
        #expect(try problems(#"{"overlap":9007199254740993,"budget":1e14,"lease_minutes":1.5e14,"weights":{"risk":1e308}}"#) == [
            FieldProblem(field: "lease_minutes", problem: "give a number of minutes from 1 to 10080 (one week)"),
            FieldProblem(field: "overlap", problem: "give a whole number of reviewers from 1 to 100"),
            FieldProblem(field: "budget", problem: "give a whole number of items from 0 to 1000000000"),
            FieldProblem(field: "weights", problem: "the weight of risk must be a number from 0 to 1000"),
        ])
        #expect(try problems(#"{"overlap":101,"lease_minutes":0.5}"#) == [
            FieldProblem(field: "lease_minutes", problem: "give a number of minutes from 1 to 10080 (one week)"),
            FieldProblem(field: "overlap", problem: "give a whole number of reviewers from 1 to 100"),
        ])
        #expect(try problems(#"{"rating":{"scale":[0,1000]}}"#) == [
            FieldProblem(field: "rating.scale", problem: "expected [lowest, highest] whole numbers from -100 to 100 with lowest < highest")
        ])
        #expect(try problems(#"{"labels":["a"],"escalation":[{"when":{"flag":true,"min_severity":1e300},"to":"lead"}]}"#) == [
            FieldProblem(field: "escalation[0].when.min_severity", problem: "give a whole number from 0 to 3")
        ])
        guard case .valid(let definition) = TaskDefinition.read(try JSON.parse(#"{"lease_minutes":10080,"overlap":100,"budget":0}"#)) else {
            Issue.record("the bounds themselves are valid")
            return
        }
        #expect(definition.leaseSeconds == 604_800)
    }

    @Test func aTimeSaturatesInsteadOfOverflowing() {
        #expect(Instant(milliseconds: 1_000).adding(seconds: Int.max).milliseconds == Int64.max)
        #expect(Instant(milliseconds: 1_000).adding(seconds: 2).milliseconds == 3_000)
    }
}
