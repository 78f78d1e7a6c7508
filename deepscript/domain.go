package deepscript

import "scribe/job"

// This file is the edge between the wire contract and scribe's vocabulary:
// every channel that brings news of a transcription maps it here, once.

// Update is what t says of its job, learnt through via.
func (t Transcription) Update(via job.Via) job.Update {
	return job.Update{UpstreamID: t.ID, Status: t.Status, Progress: t.Progress,
		Error: t.Error.FailureMessage(), Result: t.Result.Domain(), Via: via, UpstreamAt: t.UpdatedAt}
}

// Update is what a completed or failed webhook says of its job; the
// webhook's id is recorded with the change so a redelivery is a no-op.
func (ev WebhookEvent) Update(webhookID string) job.Update {
	u := job.Update{UpstreamID: ev.ID, Via: job.ViaWebhook, UpstreamAt: ev.CreatedAt, WebhookID: webhookID}
	if ev.Event == EventCompleted {
		u.Status, u.Result = job.StatusCompleted, ev.Result.Domain()
	} else {
		u.Status, u.Error = job.StatusFailed, ev.Error.FailureMessage()
	}
	return u
}

// Domain is r in scribe's vocabulary; nil for nil.
func (r *Result) Domain() *job.Result {
	if r == nil {
		return nil
	}
	out := &job.Result{Text: r.Text, Language: r.Language, Duration: r.Duration, Segments: make([]job.Segment, len(r.Segments))}
	for i, s := range r.Segments {
		seg := job.Segment{Start: s.Start, End: s.End, Text: s.Text, Speaker: s.Speaker}
		if s.Words != nil {
			seg.Words = make([]job.Word, len(s.Words))
			for k, w := range s.Words {
				seg.Words[k] = job.Word{Word: w.Word, Start: w.Start, End: w.End, Confidence: w.Confidence}
			}
		}
		out.Segments[i] = seg
	}
	sanitize(out)
	return out
}

// FailureMessage turns an upstream error into words a person understands;
// "" for nil (the domain then says job.DefaultFailure).
func (e *ErrorBody) FailureMessage() string {
	if e == nil {
		return ""
	}
	switch e.Code {
	case CodeUnsupportedMedia:
		return job.FailureUnreadable + " " + e.Message
	case CodeFileTooLarge:
		return job.FailureTooLarge
	case CodeInsufficientBalance:
		return job.FailureBalance
	case CodeNotFound:
		return job.FailureGone
	}
	if e.Message != "" {
		return e.Message
	}
	return "Transcription failed (" + e.Code + ")."
}
