// Package bench measures scribe at scale: `make bench` runs its one test,
// which starts the real app (and engine) on loopback, drives it over HTTP
// and prints one table of measures beside baselines taken in the same
// run. `make bench-quick` runs it at small sizes, as CI does to keep it
// working; only correctness (nothing lost) is asserted, never a figure.
package bench
