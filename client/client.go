// Package client is scribe's API client and the "scribe client" command:
// upload audio, follow jobs and fetch transcripts with an API token.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Client calls one scribe server as the owner of an API token.
type Client struct {
	// BaseURL is the server's address, e.g. https://scribe.example.
	BaseURL string
	// Token is an API token (scribe_…).
	Token string
	// HTTP sends the requests.
	HTTP *http.Client
	// PollEvery is the wait between polls once a job's event stream drops.
	PollEvery time.Duration
	// StreamIdle is how long a quiet event stream is trusted; the server
	// pings every 15 s.
	StreamIdle time.Duration
}

// New returns a Client of baseURL with token.
func New(baseURL, token string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"), Token: token,
		// No overall timeout: uploads and event streams last as long as
		// they need; a server that stops answering is caught here.
		HTTP:      &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 5 * time.Minute}},
		PollEvery: 2 * time.Second, StreamIdle: 45 * time.Second,
	}
}

// Job is a job as the API describes it.
type Job struct {
	ID           string    `json:"id"`
	Filename     string    `json:"filename"`
	Status       string    `json:"status"`
	Progress     float64   `json:"progress"`
	Duration     float64   `json:"duration"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	CompletedVia *string   `json:"completed_via"`
	Error        *string   `json:"error"`
}

// Final reports whether the job has completed or failed.
func (j Job) Final() bool { return j.Status == "completed" || j.Status == "failed" }

// APIError is the server's refusal: its status and message.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Status)
}

// statusOf is err's HTTP status, or 0 when it is not a server's answer.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// do sends req with the token and returns a 2xx answer; anything else
// becomes an *APIError.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	return nil, &APIError{Status: resp.StatusCode, Message: body.Error}
}

// getJSON GETs path into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("unable to read the answer to GET %s: %w", path, err)
	}
	return nil
}

// Upload sends one file (POST /jobs) and returns its job. progress, when
// not nil, is told the file's size and returns a writer that sees each
// byte as it is sent.
func (c *Client) Upload(ctx context.Context, path string, progress func(name string, size int64) io.Writer) (Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return Job{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Job{}, err
	}
	if !info.Mode().IsRegular() {
		return Job{}, fmt.Errorf("%s is not a regular file", path)
	}
	// The multipart framing around the file is built first, so the
	// request has a Content-Length: the server checks its disk space with it.
	var frame bytes.Buffer
	mw := multipart.NewWriter(&frame)
	if _, err := mw.CreateFormFile("file", filepath.Base(path)); err != nil {
		return Job{}, err
	}
	head := bytes.Clone(frame.Bytes())
	frame.Reset()
	mw.Close()
	var file io.Reader = f
	if progress != nil {
		file = io.TeeReader(f, progress(filepath.Base(path), info.Size()))
	}
	body := io.MultiReader(bytes.NewReader(head), file, &frame)
	req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+"/jobs", body)
	if err != nil {
		return Job{}, err
	}
	req.ContentLength = int64(len(head)) + info.Size() + int64(frame.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.do(req)
	if err != nil {
		return Job{}, err
	}
	defer resp.Body.Close()
	var created struct {
		Jobs   []Job    `json:"jobs"`
		Errors []string `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		return Job{}, fmt.Errorf("unable to read the answer to the upload: %w", err)
	}
	if len(created.Jobs) != 1 {
		return Job{}, &APIError{Status: http.StatusBadRequest, Message: strings.Join(created.Errors, " ")}
	}
	return created.Jobs[0], nil
}

// Jobs lists the token owner's jobs, newest first, following the list's
// next links (GET /jobs).
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var all []Job
	next := "/jobs"
	for next != "" {
		var page struct {
			Jobs []Job   `json:"jobs"`
			Next *string `json:"next"`
		}
		if err := c.getJSON(ctx, next, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Jobs...)
		next = ""
		if page.Next != nil {
			u, err := url.Parse(*page.Next)
			if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
				return nil, fmt.Errorf("the job list's next link %q is not a path", *page.Next)
			}
			next = u.String()
		}
	}
	return all, nil
}

// Job is one job (GET /jobs/{id}).
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	var j Job
	err := c.getJSON(ctx, "/jobs/"+url.PathEscape(id), &j)
	return j, err
}

// Delete removes a job (DELETE /jobs/{id}).
func (c *Client) Delete(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, "DELETE", c.BaseURL+"/jobs/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Transcript writes a completed job's transcript in format (txt, srt,
// vtt or json) to w.
func (c *Client) Transcript(ctx context.Context, id, format string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+"/jobs/"+url.PathEscape(id)+"/transcript."+url.PathEscape(format), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "*/*")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// Wait follows a job until it is final: on its event stream (GET
// /jobs/{id}/events), and once that drops, by polling GET /jobs/{id}
// every PollEvery. Network failures while polling are retried a few
// times; the server's refusals (401, 404) end the wait at once.
func (c *Client) Wait(ctx context.Context, id string) (Job, error) {
	j, err := c.follow(ctx, id)
	if err == nil && j.Final() {
		return j, nil
	}
	if s := statusOf(err); s == http.StatusUnauthorized || s == http.StatusNotFound || ctx.Err() != nil {
		return j, err
	}
	const maxFailures = 5
	failures := 0
	tick := time.NewTicker(c.PollEvery)
	defer tick.Stop()
	for {
		j, err = c.Job(ctx, id)
		switch {
		case err == nil && j.Final():
			return j, nil
		case err == nil:
			failures = 0
		case statusOf(err) != 0 && statusOf(err) < 500 && statusOf(err) != http.StatusTooManyRequests:
			return j, err
		default:
			if failures++; failures >= maxFailures {
				return j, err
			}
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-tick.C:
		}
	}
}

// follow reads the job's event stream until a final state, returning the
// last state seen; an error or a stream that ends early leaves it to Wait
// to poll.
func (c *Client) follow(ctx context.Context, id string) (Job, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+"/jobs/"+url.PathEscape(id)+"/events", nil)
	if err != nil {
		return Job{}, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.do(req)
	if err != nil {
		return Job{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent { // final already, and seen
		return c.Job(ctx, id)
	}
	// A stream that falls silent past StreamIdle is treated as dropped.
	idle := time.AfterFunc(c.StreamIdle, cancel)
	defer idle.Stop()
	var j Job
	var event string
	var data []byte
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		idle.Reset(c.StreamIdle)
		field, value, _ := strings.Cut(sc.Text(), ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			event = value
		case "data":
			data = append(data, value...)
		case "": // a blank line ends an event; a comment (":ping") has no field
			if sc.Text() != "" {
				continue
			}
			switch event {
			case "job":
				if err := json.Unmarshal(data, &j); err != nil {
					return j, fmt.Errorf("unable to read the job's event: %w", err)
				}
				if j.Final() {
					return j, nil
				}
			case "deleted":
				return j, &APIError{Status: http.StatusNotFound, Message: "The job was deleted."}
			}
			event, data = "", nil
		}
	}
	return j, errors.New("the event stream ended before the job did")
}
