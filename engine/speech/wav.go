package speech

import (
	"encoding/binary"
	"io"
)

// wavHeaderBytes is the size of the canonical RIFF/WAVE header writeWAV emits.
const wavHeaderBytes = 44

// writeWAV writes samples as a 16 kHz mono 16-bit PCM WAV file.
func writeWAV(w io.Writer, samples []int16) error {
	dataBytes := uint32(2 * len(samples))
	h := make([]byte, wavHeaderBytes, wavHeaderBytes+int(dataBytes))
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataBytes)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)           // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)            // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)            // mono
	binary.LittleEndian.PutUint32(h[24:], SampleRate)   // sample rate
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataBytes)
	for _, s := range samples {
		h = binary.LittleEndian.AppendUint16(h, uint16(s))
	}
	_, err := w.Write(h)
	return err
}
