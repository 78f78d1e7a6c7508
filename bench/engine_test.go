package bench

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"scribe/engine/enginebench"
)

// measureEngine recognises one long file with 1 and 2 decoders (the
// baseline is 1), and watches memory through a much longer one.
func measureEngine(t *testing.T) []row {
	opts := enginebench.Options{FileDuration: time.Minute, LongDuration: 10 * time.Minute, Workers: 2}
	if *full {
		opts.FileDuration, opts.LongDuration = 10*time.Minute, 2*time.Hour
	}
	f, err := enginebench.Measure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if f.WERN > f.WER1+0.01 {
		t.Errorf("WER %.3f with 2 decoders, %.3f with 1: stitching loses words", f.WERN, f.WER1)
	}
	file := fmt.Sprintf("%.0f-minute file (%d words)", f.AudioSeconds/60, f.Words)
	return []row{
		{Measure: file + ", 2 engine workers", Scribe: f.WallN.Round(100 * time.Millisecond).String(),
			Baseline: f.Wall1.Round(100*time.Millisecond).String() + " (1 worker)", Ratio: fmt.Sprintf("%.2f× faster", f.Speedup), Target: "≥ 1.7× faster"},
		{Measure: "engine WER, 2 workers vs 1", Scribe: fmt.Sprintf("%.3f", f.WERN), Baseline: fmt.Sprintf("%.3f", f.WER1),
			Ratio: fmt.Sprintf("%+.3f", f.WERN-f.WER1), Target: "within 0.01"},
		{Measure: fmt.Sprintf("engine RSS through a %.0f-minute file", f.LongSeconds/60), Scribe: mib(f.RSSPeak),
			Baseline: mib(f.RSSEarly) + " (first tenth)", Ratio: fmt.Sprintf("+%.0f MiB", math.Max(0, float64(f.RSSGrowth()))/(1<<20)), Target: "flat"},
	}
}
