package deepscript

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
)

// Contract limits checked before sending, so a caller gets a clear error
// instead of a 400.
const (
	maxIdempotencyKey = 255
	maxMetadata       = 512
)

// CreateRequest is one submission of audio for transcription.
//
// File is streamed, never buffered, so it is consumed by the call. To retry
// a failed call, reopen the file and call again with the same
// IdempotencyKey: the server then answers with the transcription it already
// created instead of a second one.
type CreateRequest struct {
	// File is the audio; it must not block forever on Read.
	File io.Reader
	// Filename is sent as the file part's name; its extension sets the
	// part's Content-Type.
	Filename string
	// WebhookURL, when set, must equal the URL of a registered endpoint.
	WebhookURL string
	// Language defaults to "en" on the server.
	Language string
	// Metadata is echoed back; at most 512 bytes.
	Metadata string
	// IdempotencyKey makes retries safe; at most 255 characters.
	IdempotencyKey string
}

// CreateTranscription uploads audio (POST /v1/transcriptions) and returns
// the queued transcription. It makes one attempt; see CreateRequest for
// retrying.
func (c *Client) CreateTranscription(ctx context.Context, r CreateRequest) (*Transcription, error) {
	if r.File == nil {
		return nil, errors.New("deepscript: create transcription: no file")
	}
	if len(r.IdempotencyKey) > maxIdempotencyKey {
		return nil, fmt.Errorf("deepscript: create transcription: idempotency key is over %d characters", maxIdempotencyKey)
	}
	if len(r.Metadata) > maxMetadata {
		return nil, fmt.Errorf("deepscript: create transcription: metadata is over %d bytes", maxMetadata)
	}

	// The body is written by a goroutine into a pipe as the transport reads
	// it, so the file is never held in memory.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeCreateBody(mw, r))
	}()
	// Stop and wait for the writer whatever happens, so no goroutine
	// outlives the call (the transport may close the body asynchronously).
	defer func() {
		pr.CloseWithError(errors.New("deepscript: upload ended"))
		<-done
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("transcriptions"), pr)
	if err != nil {
		return nil, fmt.Errorf("deepscript: unable to build upload request: %w", err)
	}
	c.setHeaders(req)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	resp, err := c.http.Do(req)
	c.observe(ctx, resp, err)
	if err != nil {
		return nil, fmt.Errorf("deepscript: create transcription: %w", err)
	}
	var t Transcription
	// A replayed create answers with the finished job, result included, so
	// the answer may be as large as a result.
	if err := c.decode(resp, &t, maxResultBody); err != nil {
		return nil, err
	}
	return &t, nil
}

// writeCreateBody writes the form: the small fields first so a server can
// reject a bad request before the audio arrives, then the file.
func writeCreateBody(mw *multipart.Writer, r CreateRequest) error {
	for _, f := range []struct{ name, value string }{
		{"webhook_url", r.WebhookURL},
		{"language", r.Language},
		{"metadata", r.Metadata},
	} {
		if f.value == "" {
			continue
		}
		if err := mw.WriteField(f.name, f.value); err != nil {
			return err
		}
	}
	name := r.Filename
	if name == "" {
		name = "audio"
	}
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", name))
	h.Set("Content-Type", ctype)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, r.File); err != nil {
		return fmt.Errorf("deepscript: unable to read upload file: %w", err)
	}
	return mw.Close()
}

// Transcription fetches a transcription with its result once completed
// (GET /v1/transcriptions/{id}).
func (c *Client) Transcription(ctx context.Context, id string) (*Transcription, error) {
	if id == "" {
		return nil, errors.New("deepscript: get transcription: empty id")
	}
	var t Transcription
	if err := c.doJSON(ctx, http.MethodGet, c.endpoint("transcriptions", id), nil, &t, maxResultBody); err != nil {
		return nil, err
	}
	return &t, nil
}

// Status fetches a transcription without its result, the cheap call for
// polling (GET /v1/transcriptions/{id}/status).
func (c *Client) Status(ctx context.Context, id string) (*Transcription, error) {
	if id == "" {
		return nil, errors.New("deepscript: get status: empty id")
	}
	var t Transcription
	if err := c.doJSON(ctx, http.MethodGet, c.endpoint("transcriptions", id, "status"), nil, &t, maxJSONBody); err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTranscription deletes a transcription's audio and result
// (DELETE /v1/transcriptions/{id}).
func (c *Client) DeleteTranscription(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("deepscript: delete transcription: empty id")
	}
	return c.doJSON(ctx, http.MethodDelete, c.endpoint("transcriptions", id), nil, nil, 0)
}
