package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"scribe/deepscript"
	"scribe/media"
	"scribe/random"
)

// Limits on the submit form besides the file.
const (
	maxMetadataBytes  = 512
	maxIdempotencyKey = 255
	maxFieldBytes     = 64 << 10
	// formOverhead is what the body may hold beyond the file: the other
	// fields and the multipart boundaries.
	formOverhead = 1 << 20
)

// languageTag accepts short BCP 47 style tags: "en", "en-US", "pt-BR".
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$`)

// uploadForm is the parsed submit form; the file is already on disk.
type uploadForm struct {
	HasFile    bool
	Size       int64
	SHA256     string
	Language   string
	Metadata   string
	WebhookURL string
}

// createTranscription is POST /v1/transcriptions: stream the file to disk,
// validate, probe, then store a queued job.
func (a *api) createTranscription(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if utf8.RuneCountInString(key) > maxIdempotencyKey {
		a.writeError(w, r, invalidRequest("Idempotency-Key is longer than %d characters", maxIdempotencyKey))
		return
	}
	if err := a.refuseWhenFull(r.Context(), key); err != nil {
		a.writeError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxUploadBytes+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		a.writeError(w, r, invalidRequest("the body must be multipart/form-data with a file field"))
		return
	}

	id := random.ID("tr_")
	path := filepath.Join(a.audioDir, id)
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()
	form, err := a.readUploadForm(mr, path)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	switch {
	case !form.HasFile:
		a.writeError(w, r, invalidRequest("the file field is required"))
		return
	case form.Size == 0:
		a.writeError(w, r, invalidRequest("the file is empty"))
		return
	case len(form.Metadata) > maxMetadataBytes:
		a.writeError(w, r, invalidRequest("metadata is longer than %d bytes", maxMetadataBytes))
		return
	case !languageTag.MatchString(form.Language):
		a.writeError(w, r, invalidRequest("language must be a short language tag such as en or en-US"))
		return
	}

	// A retry with a known key is answered before the costly probe; the
	// store checks the key again in the creating transaction for races.
	if key != "" {
		if trID, sha, err := a.store.IdempotentTranscription(r.Context(), key); err == nil {
			if sha != form.SHA256 {
				a.writeError(w, r, errIdempotencyConflict)
				return
			}
			// The job as it is now, with its result once completed, as
			// GET /v1/transcriptions/{id} shows it.
			t, err := a.store.Transcription(r.Context(), trID, true)
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, t)
			return
		} else if !errors.Is(err, errNotFound) {
			a.writeError(w, r, err)
			return
		}
	}

	info, err := media.Probe(r.Context(), path)
	if errors.Is(err, media.ErrNotAudio) {
		a.writeError(w, r, &apiError{http.StatusUnsupportedMediaType, deepscript.CodeUnsupportedMedia,
			"the file is not audio or video with an audio track that ffmpeg can read"})
		return
	}
	if err != nil {
		a.writeError(w, r, fmt.Errorf("engine: unable to probe upload: %w", err))
		return
	}

	out, err := a.store.CreateTranscription(r.Context(), newTranscription{
		ID:             id,
		Language:       form.Language,
		Metadata:       form.Metadata,
		WebhookURL:     form.WebhookURL,
		AudioPath:      id, // relative to the storage directory: valid on every node
		FileSHA256:     form.SHA256,
		Duration:       info.Duration,
		IdempotencyKey: key,
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if out.Existing {
		t, err := a.store.Transcription(r.Context(), out.Transcription.ID, true)
		if err != nil {
			a.writeError(w, r, storeNotFound(err, "transcription"))
			return
		}
		writeJSON(w, http.StatusOK, t)
		return
	}
	keep = true
	a.hub.Publish(*out.Event)
	a.workers.Wake()
	if out.Deliveries {
		a.outbox.Wake()
	}
	a.log.Info("transcription queued", "transcription_id", id, "bytes", form.Size, "duration", info.Duration)
	writeJSON(w, http.StatusCreated, out.Transcription)
}

// refuseWhenFull returns errQueueFull when the queue is full, before the
// upload is read, so a refused client does not send its file for nothing;
// a key the engine knows is let through, as its replay answers as before.
// The creating transaction checks again, so this only saves the transfer.
func (a *api) refuseWhenFull(ctx context.Context, key string) error {
	if key != "" {
		if _, _, err := a.store.IdempotentTranscription(ctx, key); err == nil {
			return nil
		}
	}
	return a.store.CheckQueue(ctx)
}

// readUploadForm reads the multipart parts in order, streaming the file to
// path while hashing it, so the upload never sits in memory.
func (a *api) readUploadForm(mr *multipart.Reader, path string) (uploadForm, error) {
	form := uploadForm{Language: "en"}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return form, bodyError(err)
		}
		switch part.FormName() {
		case "file":
			if form.HasFile {
				part.Close()
				return form, invalidRequest("only one file may be sent")
			}
			form.HasFile = true
			form.Size, form.SHA256, err = a.saveFile(part, path)
			part.Close()
			if err != nil {
				return form, err
			}
		case "language", "metadata", "webhook_url":
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			part.Close()
			if err != nil {
				return form, bodyError(err)
			}
			if len(b) > maxFieldBytes {
				return form, invalidRequest("the %s field is too long", part.FormName())
			}
			switch v := string(b); part.FormName() {
			case "language":
				if v = strings.TrimSpace(v); v != "" {
					form.Language = v
				}
			case "metadata":
				form.Metadata = v
			case "webhook_url":
				form.WebhookURL = strings.TrimSpace(v)
			}
		default:
			// Unknown fields are ignored, as most APIs do, but drained.
			if _, err := io.Copy(io.Discard, io.LimitReader(part, maxFieldBytes)); err != nil {
				part.Close()
				return form, bodyError(err)
			}
			part.Close()
		}
	}
}

// saveFile copies the file part to path, refusing more than the upload
// limit.
func (a *api) saveFile(part io.Reader, path string) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("engine: unable to create upload file: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(part, a.cfg.MaxUploadBytes+1))
	if cerr := f.Close(); err == nil && cerr != nil {
		return n, "", fmt.Errorf("engine: unable to write upload file: %w", cerr)
	}
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			return n, "", fmt.Errorf("engine: unable to write upload file: %w", err)
		}
		return n, "", bodyError(err)
	}
	if n > a.cfg.MaxUploadBytes {
		return n, "", fileTooLarge(a.cfg.MaxUploadBytes)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// bodyError explains a failure to read the request body: too large, or
// malformed / cut short by the client.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{http.StatusRequestEntityTooLarge, deepscript.CodeFileTooLarge, "the upload is larger than the limit"}
	}
	return invalidRequest("the multipart body could not be read: %v", err)
}

func fileTooLarge(limit int64) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, deepscript.CodeFileTooLarge,
		fmt.Sprintf("the file is larger than the limit of %d bytes", limit)}
}
