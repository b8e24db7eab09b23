//go:build race

package signing

// raceEnabled says the race detector is on; it makes scrypt at minisign's 1 GiB cost take
// half a minute, so that one interoperability case is skipped then.
const raceEnabled = true
