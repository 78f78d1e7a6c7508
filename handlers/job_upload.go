package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"scribe/disk"
	"scribe/job"
	"scribe/media"
	"scribe/random"
	"scribe/store"
)

// multipartOverhead allows for the form's boundaries and headers on top of
// the file bytes themselves.
const multipartOverhead = 1 << 20

// uploadJobs streams each file part to disk under a generated name,
// checks it is audio, and creates one job per file. The job row is
// committed before the submitter sends anything upstream.
func (h *Handler) uploadJobs(w http.ResponseWriter, r *http.Request, u store.User) {
	if err := h.checkRoom(r.ContentLength); err != nil {
		h.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUploadBytes+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		h.fail(w, r, job.Errorf(job.CodeInvalid, "Send the audio as a multipart form with a file field."))
		return
	}
	q, err := h.quotaFor(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var created []job.Job
	var problems []error
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			problems = append(problems, uploadReadError(err))
			break
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		if err := q.nextFile(); err != nil {
			part.Close()
			problems = append(problems, err)
			break // the rest would be refused too; no need to read it
		}
		j, err := h.saveUpload(r.Context(), u, part, q)
		part.Close()
		if err != nil {
			problems = append(problems, err)
			if isTooLarge(err) {
				break // the rest of the body is past the limit too
			}
			continue
		}
		created = append(created, j)
	}
	h.respondUpload(w, r, u, created, problems)
}

func (h *Handler) respondUpload(w http.ResponseWriter, r *http.Request, u store.User, created []job.Job, problems []error) {
	if len(created) == 0 && len(problems) == 0 {
		problems = append(problems, job.Errorf(job.CodeInvalid, "Choose an audio file to upload."))
	}
	if wantsJSON(r) {
		if len(created) == 0 {
			h.fail(w, r, problems[0])
			return
		}
		body := struct {
			Jobs   []jobJSON `json:"jobs"`
			Errors []string  `json:"errors,omitempty"`
		}{}
		for _, j := range created {
			body.Jobs = append(body.Jobs, toJSON(j))
		}
		for _, p := range problems {
			if job.ErrorCode(p) == job.CodeInternal {
				// An internal failure's text names paths and SQL: log it;
				// ErrorMessage shows the generic message fail would.
				h.Log.Error("handlers: upload failed", "user_id", u.ID, "error", p)
			}
			body.Errors = append(body.Errors, job.ErrorMessage(p))
		}
		writeJSON(w, http.StatusCreated, body)
		return
	}
	if len(problems) > 0 {
		var messages []string
		status := http.StatusBadRequest
		for _, p := range problems {
			code := job.ErrorCode(p)
			if code == job.CodeInternal {
				h.fail(w, r, p)
				return
			}
			messages = append(messages, job.ErrorMessage(p))
			status = statusOf[code]
		}
		h.showHome(w, r, u, status, messages)
		return
	}
	if len(created) == 1 {
		http.Redirect(w, r, "/jobs/"+created[0].ID, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// saveUpload writes one file part to disk and records its job.
func (h *Handler) saveUpload(ctx context.Context, u store.User, part *multipart.Part, q *quota) (job.Job, error) {
	name := cleanFilename(part.FileName())
	id := random.ID("j_")
	path := filepath.Join(h.cfg.UploadDir, id+".audio")
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return job.Job{}, h.diskError(fmt.Errorf("handlers: unable to create upload file: %w", err))
	}
	n, err := io.Copy(f, io.LimitReader(part, h.cfg.MaxUploadBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case disk.IsFull(err):
		return job.Job{}, h.diskError(err)
	case err != nil:
		return job.Job{}, uploadReadError(err)
	case n > h.cfg.MaxUploadBytes:
		return job.Job{}, job.Errorf(job.CodeTooLarge,
			fmt.Sprintf("%s is larger than the %s this server accepts.", name, humanBytes(h.cfg.MaxUploadBytes)))
	case n == 0:
		return job.Job{}, job.Errorf(job.CodeInvalid, name+" is empty.")
	}
	info, err := h.Probe(ctx, path)
	if errors.Is(err, media.ErrNotAudio) {
		return job.Job{}, job.Errorf(job.CodeUnsupported,
			name+" does not look like audio (or video with a sound track) that we can read.")
	}
	if err != nil {
		return job.Job{}, err
	}
	if err := q.take(name, info.Duration); err != nil {
		return job.Job{}, err
	}
	j, err := h.Relay.Create(ctx, job.Job{ID: id, UserID: u.ID, Filename: name, AudioPath: path, SizeBytes: n, Duration: info.Duration})
	if err != nil {
		return job.Job{}, err
	}
	keep = true
	return j, nil
}

// diskError logs a failure to write an upload and says what it means: a
// full disk becomes job.ErrNoSpace (507), anything else stays internal.
func (h *Handler) diskError(err error) error {
	if !disk.IsFull(err) {
		return err
	}
	h.Log.Error("handlers: the upload disk is full", "dir", h.cfg.UploadDir, "error", err)
	return job.ErrNoSpace
}

// checkRoom refuses an upload up front when the disk cannot hold it and
// still keep minFreeBytes spare for the database.
func (h *Handler) checkRoom(size int64) error {
	free, err := h.Free(h.cfg.UploadDir)
	if err != nil {
		return err
	}
	if int64(free) < max(size, 0)+h.cfg.MinFreeBytes {
		h.Log.Error("handlers: upload refused: too little disk space", "dir", h.cfg.UploadDir, "free_bytes", free, "upload_bytes", size)
		return job.ErrNoSpace
	}
	return nil
}

func uploadReadError(err error) error {
	if isTooLarge(err) {
		return errTooLarge
	}
	return job.Errorf(job.CodeInvalid, "The upload was cut off before it finished; please try again.")
}

func isTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig) || job.ErrorCode(err) == job.CodeTooLarge
}

// cleanFilename keeps a display name: no path, no control characters,
// at most 200 bytes of valid UTF-8.
func cleanFilename(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == "/" {
		return "audio"
	}
	return name
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
