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
        // The storage case's stroke period (worked out by hand there: 24 mL a day) is this file's:
        // 1 200 µg/day at 50 µg/mL in 250 nL strokes, one every 0.9 s.
        let drug = try #require(fromFile?["drug"] as? NSDictionary), rx = try #require(fromFile?["prescription"] as? NSDictionary)
        let millilitresPerDay = try #require(rx["daily_dose_ug"] as? Double) / #require(drug["concentration_ug_per_ml"] as? Double)
        #expect(abs(86_400 / (millilitresPerDay * 1e6 / 250) - Prescriptions.storageStrokeSeconds(strokeNanolitres: 250)) < 1e-9)
    }
}
