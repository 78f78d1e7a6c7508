// Package mediatest makes small audio files for tests without external
// tools.
package mediatest

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Tone writes 300 ms of a sine tone at hz as a 16-bit mono 8 kHz WAV named
// name in dir, and returns its path. Different tones make files with
// different hashes.
func Tone(t testing.TB, dir, name string, hz float64) string {
	t.Helper()
	const rate = 8000
	samples := rate * 3 / 10
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*samples))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, le, v) // fmt chunk: PCM, mono, 8 kHz, 16 bit
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*samples))
	for i := range samples {
		binary.Write(&b, le, int16(8000*math.Sin(2*math.Pi*hz*float64(i)/rate)))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
