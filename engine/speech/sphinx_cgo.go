package speech

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/logmath.h>

// ps_args returns a const table; cmd_ln_parse_r wants it non-const.
static cmd_ln_t *scribe_parse(int argc, char **argv) {
	return cmd_ln_parse_r(NULL, ps_args(), argc, argv, 1);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// psInitMu serialises decoder creation: ps_init touches process-global
// state in sphinxbase (its logger and caches), and two concurrent inits
// have been seen to deadlock.
var psInitMu sync.Mutex

// psLogOnce silences sphinxbase's logging once per process. err_set_logfp
// is process-global; -logfn is never used because it reopens that global
// log per decoder and deadlocked under concurrent init.
var psLogOnce sync.Once

// rawWord is one entry of pocketsphinx's segmentation, before cleanup.
type rawWord struct {
	word       string
	startFrame int
	endFrame   int
	prob       float64 // posterior probability, 0..1
}

// psDecoder is one pocketsphinx decoder and the C strings its config
// keeps pointers to. It must be used by one goroutine at a time.
type psDecoder struct {
	ps    *C.ps_decoder_t
	argv  []*C.char
	quiet []int16 // quietFrames of near-silence
	buf   []int16 // quiet, the current utterance, quiet
}

// quietFrames of near-silence go before and after every utterance.
//
// Before: without any silence before it, pocketsphinx drops the first word
// of audio that starts straight on speech ("the quick brown fox" → "quick
// brown fox").
//
// After: the bestpath search builds its lattice back from the sentence end
// </s> in the last frame. When the audio stops on speech (flite ends ~0.1 s
// after the last word; a forced cut) </s> may not survive the beam there,
// the lattice fails ("Failed to find DAG node corresponding to </s>") and
// ps_get_hyp returns nothing: the whole utterance comes back without words.
// Whether it happens hangs on the last milliseconds of audio, so the same
// sentence failed as a 44.1 kHz mp3 and passed as a wav or 16 kHz mp3.
const quietFrames = 10

// quietPad returns the padding: ±1 LSB of fixed pseudo-random dither rather
// than zeros, so the front end's log energy stays finite.
func quietPad() []int16 {
	out := make([]int16, quietFrames*frameSamples)
	x := uint32(1)
	for i := range out {
		x = x*1664525 + 1013904223
		out[i] = int16(x>>30) - 1 // -1, 0, 1 or 2
	}
	return out
}

// newPSDecoder creates a decoder from pocketsphinx options given as
// alternating names and values ("-maxhmmpf", "3000").
func newPSDecoder(args []string) (*psDecoder, error) {
	if len(args) == 0 || len(args)%2 != 0 {
		// cmd_ln_parse_r prints its whole help table when given no option.
		return nil, errors.New("speech: pocketsphinx needs name/value option pairs")
	}
	psLogOnce.Do(func() { C.err_set_logfp(nil) })

	d := &psDecoder{argv: make([]*C.char, len(args)), quiet: quietPad()}
	for i, a := range args {
		d.argv[i] = C.CString(a)
	}
	cargv := (**C.char)(C.malloc(C.size_t(len(args)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	defer C.free(unsafe.Pointer(cargv))
	copy(unsafe.Slice(cargv, len(args)), d.argv)

	psInitMu.Lock()
	defer psInitMu.Unlock()
	config := C.scribe_parse(C.int(len(args)), cargv)
	if config == nil {
		d.freeArgs()
		return nil, fmt.Errorf("speech: pocketsphinx rejected options %q", args)
	}
	C.ps_default_search_args(config)
	d.ps = C.ps_init(config)
	// ps_init keeps its own reference to config.
	C.cmd_ln_free_r(config)
	if d.ps == nil {
		d.freeArgs()
		return nil, errors.New("speech: pocketsphinx could not load its model (is pocketsphinx-en-us installed?)")
	}
	return d, nil
}

// decode recognises one utterance of 16 kHz PCM and returns its words
// (fillers included) with frame times relative to the utterance start.
func (d *psDecoder) decode(samples []int16) ([]rawWord, error) {
	if C.ps_start_stream(d.ps) < 0 {
		return nil, errors.New("speech: pocketsphinx could not start a stream")
	}
	if C.ps_start_utt(d.ps) < 0 {
		return nil, errors.New("speech: pocketsphinx could not start an utterance")
	}
	if len(samples) > 0 {
		d.buf = append(append(append(d.buf[:0], d.quiet...), samples...), d.quiet...)
		// full_utt=1: the whole utterance is in this call, so cepstral mean
		// normalisation uses the utterance itself.
		if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&d.buf[0])), C.size_t(len(d.buf)), 0, 1) < 0 {
			C.ps_end_utt(d.ps)
			return nil, errors.New("speech: pocketsphinx failed to process audio")
		}
	}
	if C.ps_end_utt(d.ps) < 0 {
		return nil, errors.New("speech: pocketsphinx could not end an utterance")
	}
	var score C.int32
	if hyp := C.ps_get_hyp(d.ps, &score); hyp == nil || C.GoString(hyp) == "" {
		return nil, nil
	}
	lmath := C.ps_get_logmath(d.ps)
	// Words reaching into the trailing quiet end with the utterance.
	lastFrame := max((len(samples)+frameSamples-1)/frameSamples-1, 0)
	var words []rawWord
	for seg := C.ps_seg_iter(d.ps); seg != nil; seg = C.ps_seg_next(seg) {
		var sf, ef C.int
		C.ps_seg_frames(seg, &sf, &ef)
		var ascr, lscr, lback C.int32
		p := float64(C.logmath_exp(lmath, C.int(C.ps_seg_prob(seg, &ascr, &lscr, &lback))))
		if math.IsNaN(p) {
			p = 0
		}
		words = append(words, rawWord{
			word:       C.GoString(C.ps_seg_word(seg)),
			startFrame: min(max(int(sf)-quietFrames, 0), lastFrame),
			endFrame:   min(max(int(ef)-quietFrames, 0), lastFrame),
			prob:       min(max(p, 0), 1),
		})
	}
	return words, nil
}

// free releases the decoder. pocketsphinx keeps most of that memory in
// the process anyway, which is why decoders live as long as the pool.
func (d *psDecoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
	d.freeArgs()
}

func (d *psDecoder) freeArgs() {
	for _, a := range d.argv {
		C.free(unsafe.Pointer(a))
	}
	d.argv = nil
}
