import Testing
@testable import Controller
import PumpCore
import PumpFakes

@Test func debugMotion() async {
    var m = MotionMonitor(countsPerStroke: 4)
    let l = SafetyLimits()
    print(m.observe(settledStrokes: 0, commandedStrokes: 0, encoderCounts: 0, limits: l))
    print(m.observe(settledStrokes: 0, commandedStrokes: 1, encoderCounts: 4, limits: l), m.deficitCounts)
    print(m.observe(settledStrokes: 1, commandedStrokes: 1, encoderCounts: 4, limits: l), m.deficitCounts)
}
