//go:build race

package main

// raceEnabled tells the tests to build the binary with -race too, so it
// reuses the race-instrumented packages the test binary was built from.
const raceEnabled = true
