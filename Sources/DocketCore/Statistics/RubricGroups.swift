/// Labels grouped by the rubric version they were given under, the one rule every `--by rubric`
/// output follows (`agreement`, `drift`, `report`): each version present, in ascending order, then
/// the labels without a version (imported without a `rubric` column) as a group of their own,
/// named `none`. Unversioned labels are never dropped nor folded into a version.
public enum RubricGroups {
    /// The groups present among the rubric versions of the given labels: versions ascending, then
    /// nil when any label has none.
    public static func versions<S: Sequence>(of rubrics: S) -> [Int?] where S.Element == Int? {
        var versions = Set<Int>()
        var unversioned = false
        for rubric in rubrics {
            if let rubric { versions.insert(rubric) } else { unversioned = true }
        }
        return versions.sorted().map { Optional($0) } + (unversioned ? [nil] : [])
    }

    /// A group's name: its version, or `none` for labels without one.
    public static func name(_ version: Int?) -> String { version.map(String.init) ?? "none" }
}
