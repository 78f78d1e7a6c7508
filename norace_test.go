//go:build !race

package main

// raceEnabled reports a build with the race detector, whose shadow memory
// makes the process's resident size no measure of the app's.
const raceEnabled = false
