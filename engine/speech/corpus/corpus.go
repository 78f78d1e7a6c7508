// Package corpus holds the passages, spoken by flite voices, on which the
// speech tests and make bench-engine measure recognition.
package corpus

import (
	"context"
	"fmt"
	"os/exec"
)

// Passage is one piece of the corpus and the flite voice that speaks it.
type Passage struct{ Name, Voice, Text string }

// Passages are the corpus. The speech tests use the first seven (cgo under
// -race is slow); the bench adds the rest.
var Passages = []Passage{
	{"meeting", "slt", "The meeting with John Smith is scheduled for Tuesday at three thirty in the afternoon. Please bring the quarterly report and the budget numbers for the new project."},
	{"phone", "kal16", "My phone number is five five five two one eight four nine seven zero. Call me after six o'clock if you have any questions about the order."},
	{"weather", "slt", "The weather today will be sunny with a high of seventy two degrees. Tomorrow we expect rain in the morning and clearing skies by the evening."},
	{"chicago", "kal16", "Mary and David moved to Chicago in nineteen ninety eight. They bought a small house near the lake and started a business selling coffee."},
	{"revenue", "rms", "The company reported revenue of four hundred million dollars, an increase of twelve percent over the previous year, driven by strong sales in Europe."},
	{"office", "rms", "Please remember to turn off the lights and lock the door when you leave the office tonight. The security guard will check the building at ten."},
	{"history", "slt", "Abraham Lincoln was born in Kentucky in eighteen oh nine. He became the sixteenth president of the United States and led the country through the civil war."},
	{"recipe", "awb", "Preheat the oven to three hundred and fifty degrees. Mix two cups of flour with one cup of sugar, then add three eggs and a little milk."},
}

// Speak writes p, spoken by its voice, to path as a WAV.
func (p Passage) Speak(ctx context.Context, path string) error {
	if out, err := exec.CommandContext(ctx, "flite", "-voice", p.Voice, "-t", p.Text, "-o", path).CombinedOutput(); err != nil {
		return fmt.Errorf("flite %s: %v: %s", p.Name, err, out)
	}
	return nil
}
