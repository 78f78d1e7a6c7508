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
	ps   *C.ps_decoder_t
	argv []*C.char
	buf  []int16 // lead-in, then the current utterance
}

// leadInFrames of near-silence go before every utterance: without any
// silence before it, pocketsphinx drops the first word of audio that
// starts straight on speech ("the quick brown fox" → "quick brown fox").
const leadInFrames = 10

// leadIn returns the lead-in: ±1 LSB of fixed pseudo-random dither rather
// than zeros, so the front end's log energy stays finite.
func leadIn() []int16 {
	out := make([]int16, leadInFrames*frameSamples)
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

	d := &psDecoder{argv: make([]*C.char, len(args)), buf: leadIn()}
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
		d.buf = append(d.buf[:leadInFrames*frameSamples], samples...)
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
			startFrame: max(int(sf)-leadInFrames, 0),
			endFrame:   max(int(ef)-leadInFrames, 0),
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
