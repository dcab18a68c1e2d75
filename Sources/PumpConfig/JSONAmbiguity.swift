import Foundation
import PumpCore

/// What a file reader must not guess at: a key given twice in one object, and a member whose value
/// is `null`.
///
/// Foundation's parser keeps the first of two equal keys, where most tools (jq, Python) keep the
/// last: a board file with `"enable_active": "low", …, "enable_active": "high"` read as `low` here
/// and as `high` in the engineer's editor or script. And a `null` read as "absent" silently took
/// the default (`"enable_active": null` → low). Both are refused, naming the field, in every file
/// read through `ObjectReader.document` (board, prescription and scenario files). The scan runs
/// on bytes Foundation has already accepted as JSON, so it only has to follow valid JSON.
enum JSONAmbiguity {
    private enum Frame {
        case object(path: String, keys: Set<String>, key: String?, expectKey: Bool)
        case array(path: String, index: Int)
    }

    static func problems(in data: Data) -> [FieldError] {
        let bytes = [UInt8](data)
        var problems: [FieldError] = []
        var stack: [Frame] = []
        var i = 0

        /// The path of the value that starts at the current position.
        func valuePath() -> String {
            switch stack.last {
            case nil: return "(file)"
            case .object(let path, _, let key, _)?: return ObjectReader.child(path, key ?? "")
            case .array(let path, let index)?: return "\(path.isEmpty ? "(file)" : path)[\(index)]"
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "{"):
                stack.append(.object(path: stack.isEmpty ? "" : valuePath(), keys: [], key: nil, expectKey: true))
                i += 1
            case UInt8(ascii: "["):
                stack.append(.array(path: stack.isEmpty ? "" : valuePath(), index: 0))
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                i += 1
            case UInt8(ascii: ","):
                switch stack.last {
                case .object(let path, let keys, _, _)?: stack[stack.count - 1] = .object(path: path, keys: keys, key: nil, expectKey: true)
                case .array(let path, let index)?: stack[stack.count - 1] = .array(path: path, index: index + 1)
                case nil: break
                }
                i += 1
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i += 1
                if case .object(let path, var keys, _, true)? = stack.last {
                    let key = decodedString(bytes[start..<min(i, bytes.count)])
                    if !keys.insert(key).inserted {
                        problems.append(FieldError(ObjectReader.child(path, key), "is given twice in one object (readers disagree on which counts): give it once"))
                    }
                    stack[stack.count - 1] = .object(path: path, keys: keys, key: key, expectKey: false)
                }
            case UInt8(ascii: "n"):
                if case .object = stack.last {
                    problems.append(FieldError(valuePath(), "is null: leave the field out to mean its default"))
                }
                i += 4
            default:
                i += 1   // whitespace, ':', and the bytes of numbers, true and false
            }
        }
        return problems
    }

    /// A key as its reader sees it: `"a"` and `"\u0061"` are the same key.
    private static func decodedString(_ token: ArraySlice<UInt8>) -> String {
        let inner = token.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONDecoder().decode(String.self, from: Data(token))) ?? String(decoding: inner, as: UTF8.self)
    }
}
