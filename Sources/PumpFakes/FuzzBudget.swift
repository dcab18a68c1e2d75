/// How many inputs a fuzz test tries, by build and by the environment's override.
public enum FuzzBudget {
    /// `optimized` in the optimized build Scripts/test runs, `debug` in a debug build, or the
    /// number `override` (an environment variable's value) gives.
    public static func inputs(optimized: Int, debug: Int, override: String?) -> Int {
        #if DEBUG
        let base = debug
        #else
        let base = optimized
        #endif
        return override.flatMap(Int.init) ?? base
    }
}
