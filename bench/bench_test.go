package bench

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
)

// full selects make bench's sizes; without it the run is make bench-quick's.
var full = flag.Bool("full", false, "measure at full size (make bench) instead of the quick sizes")

// size picks the quick or the full figure.
func size(quick, big int) int {
	if *full {
		return big
	}
	return quick
}

// row is one line of the table: a measure, scribe's figure, the baseline
// taken in the same run, their ratio and the target.
type row struct {
	Measure, Scribe, Baseline, Ratio, Target string
}

// ratio formats a/b, or "–" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	if r := a / b; r < 0.1 {
		return fmt.Sprintf("%.3f×", r)
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// TestPerformance runs every measure and prints the table.
func TestPerformance(t *testing.T) {
	raiseFileLimit(t)
	var rows []row
	measures := []struct {
		name string
		run  func(t *testing.T) []row
	}{
		{"webhook ingest", measureIngest},
		{"browser streams", measureStreams},
		{"upstream requests and latency", measureHappyPath},
		{"upstream streams at start", measureStartup},
		{"pages by jobs per user", measurePages},
		{"upload throughput", measureUpload},
		{"engine on one long file", measureEngine},
	}
	for _, m := range measures {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			rows = append(rows, m.run(t)...)
		})
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "measure\tscribe\tbaseline\tratio\ttarget")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Measure, r.Scribe, r.Baseline, r.Ratio, r.Target)
	}
	w.Flush()
	mode := "quick sizes (make bench-quick)"
	if *full {
		mode = "full sizes (make bench)"
	}
	fmt.Fprintf(os.Stdout, "\nscribe performance, %s, %d cores, loopback:\n\n%s\n", mode, numCPU(), b.String())
}
