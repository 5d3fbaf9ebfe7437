import ArgumentParser
import DocketCore
import DocketStore
import Foundation

/// Current labels as a table: items × reviewers, with the item ids, categories and each label's rubric.
struct LabelData {
    var table: RatingTable
    var itemIDs: [String]
    var categories: [String?]
    var reviewers: [String]
    /// Rubric version of each cell (row-major like the table), when known.
    var rubrics: [Int?]
    /// When each label was given (row-major like the table).
    var times: [Int64?]
    /// Names of the categories the table's values index (nominal/ordinal), or [] for numbers.
    var categoryNames: [String]

    static func load(store: any ReviewStore, kind: FeedbackKind, level: MeasurementLevel, only: [String]?) throws -> LabelData {
        let columns = try store.currentLabels(kind: kind)
        let definition = try store.taskDefinition().definition
        // One column per reviewer (by id, in name order): two reviewers whose names differ only
        // in Unicode form (stored by hand) stay two columns, never one key given twice.
        var used = Set(columns.reviewers).compactMap { id in columns.reviewerNames[id].map { (id: id, name: $0) } }
        used.sort { ($0.name, $0.id) < ($1.name, $1.id) }
        if let only {
            var seen = Set<Int64>()
            used = only.flatMap { name in used.filter { $0.name == name } }.filter { seen.insert($0.id).inserted }
        }
        let names = used.map(\.name)
        // Reviewer ids are small integers: an array maps them to table columns without hashing.
        var reviewerColumn = ValuesById<Int>()
        for (column, reviewer) in used.enumerated() { reviewerColumn[reviewer.id] = column }
        func columnOf(_ id: Int64) -> Int { reviewerColumn[id] ?? -1 }
        // Rows of the table: the labelled items that have a label from a chosen reviewer.
        var rowOfItem = [Int](repeating: -1, count: columns.itemSeqs.count)
        var itemIDs: [String] = [], categories: [String?] = []
        for position in columns.rows.indices where columnOf(columns.reviewers[position]) >= 0 {
            let item = Int(columns.rows[position])
            if rowOfItem[item] < 0 {
                rowOfItem[item] = itemIDs.count
                itemIDs.append(columns.itemIDs[item])
                categories.append(columns.itemCategories[item])
            }
        }
        let numeric = level == .interval || level == .ratio
        var categoryNames: [String] = []
        if !numeric {
            if kind == .rating, let scale = definition.rating {
                categoryNames = (scale.minimum...scale.maximum).map(String.init)
            } else {
                categoryNames = definition.labels.isEmpty ? columns.labelNames.sorted() : definition.labels
            }
        }
        // What each label code means as a table value.
        // Labels that differ only in Unicode form (stored by hand) read as the first of them.
        let index = Dictionary(categoryNames.enumerated().map { ($1, Double($0)) }, uniquingKeysWith: { first, _ in first })
        var codeValue = [Double](repeating: .nan, count: columns.labelNames.count)
        for (code, label) in columns.labelNames.enumerated() {
            if numeric {
                guard let number = Double(label) else {
                    throw CommandError.invalidOption(name: "--level", value: level.rawValue, reason: "the label '\(label)' is not a number; use nominal or ordinal")
                }
                codeValue[code] = number
            } else {
                codeValue[code] = index[label] ?? .nan
            }
        }
        let width = names.count
        var table = RatingTable(items: itemIDs.count, raters: width, categories: numeric ? 0 : categoryNames.count)
        var rubrics = [Int?](repeating: nil, count: itemIDs.count * width)
        var times = [Int64?](repeating: nil, count: itemIDs.count * width)
        for position in columns.rows.indices {
            let column = columnOf(columns.reviewers[position])
            guard column >= 0 else { continue }
            let row = rowOfItem[Int(columns.rows[position])]
            table.set(row * width + column, codeValue[Int(columns.labels[position])])
            let rubric = columns.rubrics[position]
            rubrics[row * width + column] = rubric < 0 ? nil : Int(rubric)
            times[row * width + column] = columns.times[position]
        }
        return LabelData(table: table, itemIDs: itemIDs, categories: categories, reviewers: names, rubrics: rubrics, times: times, categoryNames: categoryNames)
    }

    /// The current labels of row `i`, as (reviewer, label) pairs (nominal and ordinal data).
    func labels(ofItem i: Int) -> [(reviewer: String, label: String)] {
        (0..<table.raters).compactMap { r in
            guard let v = table[i, r], Int(v) < categoryNames.count else { return nil }
            return (reviewers[r], categoryNames[Int(v)])
        }
    }

    /// The votes of row `i` over the declared labels (`LabelRules.votes`).
    func votes(ofItem i: Int) -> Votes {
        var counts: [String: Int] = [:]
        for (_, label) in labels(ofItem: i) { counts[label, default: 0] += 1 }
        return LabelRules.votes(counts: counts, declared: categoryNames)
    }

    /// The data restricted to some items.
    func items(_ rows: [Int]) -> LabelData {
        var copy = self
        copy.table = table.resampled(rows)
        copy.itemIDs = rows.map { itemIDs[$0] }
        copy.categories = rows.map { categories[$0] }
        copy.rubrics = rows.flatMap { r in (0..<reviewers.count).map { rubrics[r * reviewers.count + $0] } }
        copy.times = rows.flatMap { r in (0..<reviewers.count).map { times[r * reviewers.count + $0] } }
        return copy
    }

    /// The data keeping only the labels `keep` accepts (by row, column).
    func labels(where keep: (Int, Int) -> Bool) -> LabelData {
        var copy = self
        var table = RatingTable(items: self.table.items, raters: self.table.raters, categories: self.table.categories)
        for i in 0..<table.items { for r in 0..<table.raters where keep(i, r) { table[i, r] = self.table[i, r] } }
        copy.table = table
        return copy
    }
}
