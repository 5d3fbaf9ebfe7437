/// What an item says: its id, prompt, response(s) and category. The one content type every view
/// of an item carries (the reviewer's `ReviewItem`, the lead's `ItemReport`, an export's
/// `ItemProvenance`), so how responses are counted and lettered is written once.
public struct ItemContent: Equatable, Sendable {
    public var id: String
    public var prompt: String?
    public var response: String?
    /// Two or more candidate responses, for ranking and pairwise review.
    public var responses: [String]?
    public var category: String?

    public init(id: String, prompt: String? = nil, response: String? = nil, responses: [String]? = nil, category: String? = nil) {
        self.id = id
        self.prompt = prompt
        self.response = response
        self.responses = responses
        self.category = category
    }

    /// How many responses the item has (its `responses`, or 1 for a single `response`).
    public var responseCount: Int { responses?.count ?? (response == nil ? 0 : 1) }

    /// The responses labelled A, B, …: `responses` when present, else the single `response` as A.
    public var lettered: [(letter: String, text: String)] {
        if let responses { return responses.enumerated().map { (ResponseLetters.letter($0.offset), $0.element) } }
        if let response { return [("A", response)] }
        return []
    }

    /// The response letters, A, B, ….
    public var letters: [String] { ResponseLetters.letters(count: responseCount) }

    /// The heading of one response: "Response" for a single response, else "Response A", ….
    public func heading(_ letter: String) -> String { responses == nil ? "Response" : "Response \(letter)" }
}
