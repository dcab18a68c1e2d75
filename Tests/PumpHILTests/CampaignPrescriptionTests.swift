import Foundation
@testable import PumpHIL
import Testing

/// The campaigns' prescription has one home, docs/examples/campaign-prescription.json (read by
/// Scripts/crash-test and Scripts/hil/power-cuts.sh). The HIL storage case runs in the guest
/// without the repository, so it carries the text compiled in; this keeps the two equal.
struct CampaignPrescriptionTests {
    @Test func theStorageCaseRunsTheCampaignsPrescription() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try Data(contentsOf: repo.appendingPathComponent("docs/examples/campaign-prescription.json"))
        let fromFile = try JSONSerialization.jsonObject(with: file) as? NSDictionary
        let compiled = try JSONSerialization.jsonObject(with: Data(Prescriptions.storage.utf8)) as? NSDictionary
        #expect(fromFile != nil && fromFile == compiled, "Prescriptions.storage differs from docs/examples/campaign-prescription.json")
    }
}
