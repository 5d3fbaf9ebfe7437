/// An RFC 4180 CSV record reader fed one physical line at a time, so a record whose quoted
/// field spans lines is assembled without reading the whole file.
public struct CSVRecordReader: Sendable {
    public struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// A field of the last record that is not well-formed UTF-8: its 0-based position and its
    /// text with the bad bytes written `\xNN`. The field itself is returned with U+FFFD in their
    /// place and must not be used.
    public struct InvalidField: Equatable, Sendable {
        public var index: Int
        public var escaped: String
        public init(index: Int, escaped: String) {
            self.index = index
            self.escaped = escaped
        }
    }

    private var fields: [String] = []
    private var field: [UInt8] = []
    /// The fields of the record last returned by `feed` that are not UTF-8 (refuse the record).
    public private(set) var invalidFields: [InvalidField] = []
    private var inQuotes = false
    private var fieldWasQuoted = false
    private var afterClosingQuote = false
    public private(set) var pending = false

    public init() {}

    /// Feeds one line (without its line terminator). Returns the record's fields when the line
    /// completes a record, nil when a quoted field continues on the next line.
    public mutating func feed(_ line: UnsafeBufferPointer<UInt8>) throws(SyntaxError) -> [String]? {
        if pending {
            // The previous line ended inside quotes: the line break belongs to the field.
            field.append(0x0A)
        } else {
            invalidFields.removeAll(keepingCapacity: true)
        }
        pending = false
        var index = 0
        while index < line.count {
            let byte = line[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < line.count, line[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 2
                        continue
                    }
                    inQuotes = false
                    afterClosingQuote = true
                } else {
                    field.append(byte)
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                finishField()
            case UInt8(ascii: "\""):
                guard field.isEmpty, !afterClosingQuote, !fieldWasQuoted else {
                    reset()
                    throw SyntaxError(message: "a quote inside an unquoted field at column \(index + 1) (quote the whole field and double inner quotes)")
                }
                inQuotes = true
                fieldWasQuoted = true
            default:
                if afterClosingQuote {
                    reset()
                    throw SyntaxError(message: "text after a closing quote at column \(index + 1)")
                }
                field.append(byte)
            }
            index += 1
        }
        if inQuotes {
            pending = true
            return nil
        }
        finishField()
        let record = fields
        fields.removeAll(keepingCapacity: true)
        return record
    }

    public mutating func feed(_ line: [UInt8]) throws(SyntaxError) -> [String]? {
        try line.withUnsafeBufferPointer { buffer throws(SyntaxError) in try feed(buffer) }
    }

    /// Call at end of input: an open quoted field is an error.
    public mutating func finish() throws(SyntaxError) {
        if pending {
            reset()
            throw SyntaxError(message: "a quoted field is never closed")
        }
    }

    private mutating func finishField() {
        // Checked once per field; an ASCII field costs one OR per byte.
        var high: UInt8 = 0
        for byte in field { high |= byte }
        if high >= 0x80, !UTF8Check.isValid(field) {
            invalidFields.append(InvalidField(index: fields.count, escaped: UTF8Check.escaped(field)))
        }
        fields.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
        fieldWasQuoted = false
        afterClosingQuote = false
    }

    private mutating func reset() {
        fields.removeAll()
        field.removeAll()
        invalidFields.removeAll()
        inQuotes = false
        fieldWasQuoted = false
        afterClosingQuote = false
        pending = false
    }
}
