//go:build race

package store_test

// raceEnabled reports a build with the race detector, which slows the Go
// side of every row read several times over: no measure of a search's time.
const raceEnabled = true
