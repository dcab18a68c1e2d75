import Foundation

/// Board files a case derives from the suite's own (a miswired line, a wrong address, a flipped
/// ENABLE), written to the work folder. Their own file because more than one case uses them.
extension Suite {
    func boardVariant(pressureAddress: String) throws -> String {
        try boardVariant(named: "pressure-absent") { root in
            var sensor = root["pressure_sensor"] as? [String: Any] ?? [:]
            sensor["address"] = pressureAddress
            root["pressure_sensor"] = sensor
        }
    }

    /// The suite's board file with `edit` applied, written to the work folder.
    func boardVariant(named name: String, edit: (inout [String: Any]) -> Void) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: settings.boardPath))
        guard var root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw SuiteError(message: "board is not an object") }
        edit(&root)
        root["name"] = "\(board.name)-\(name)"
        let path = "\(settings.workDirectory)/board-\(name).json"
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
        return path
    }

}
