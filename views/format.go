package views

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// formatDuration renders seconds as m:ss (h:mm:ss from an hour up), or a
// dash while the duration is unknown.
func formatDuration(sec float64) string {
	if sec <= 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "–"
	}
	return formatClock(sec)
}

// formatClock renders a position in the audio as m:ss or h:mm:ss; 0 is "0:00".
func formatClock(sec float64) string {
	if sec < 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		sec = 0
	}
	s := int64(sec) // truncate, as players do
	h, m, s := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// formatTime is the readable form of a timestamp when JavaScript does not
// replace it with the reader's local time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// isoTime is the machine form for <time datetime> and data attributes.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// jobURL is the path of a job's page with an optional suffix such as
// "/audio" or "/transcript.srt".
func jobURL(id, suffix string) string {
	return "/jobs/" + url.PathEscape(id) + suffix
}

// statusLabel is the word people read for a job status.
func statusLabel(status string) string {
	switch status {
	case "queued":
		return "Queued"
	case "processing":
		return "Processing"
	case "completed":
		return "Completed"
	case "failed":
		return "Failed"
	}
	return status
}

// percent is a job's progress as a whole percentage, 100 once completed.
func percent(j Job) int {
	if j.Status == "completed" {
		return 100
	}
	p := j.Progress
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	if p > 1 {
		p = 1
	}
	return int(math.Floor(p * 100))
}

// seconds renders a time in the audio for data-start and data-end, where
// JavaScript reads it back as a number.
func seconds(sec float64) string {
	return strconv.FormatFloat(sec, 'f', 3, 64)
}

// formatBytes renders a size limit the way people say it ("100 MB").
func formatBytes(n int64) string {
	const unit = 1 << 20
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= unit:
		return strconv.FormatFloat(float64(n)/unit, 'f', -1, 64) + " MB"
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// took is how long a finished job ran, from upload to its final state.
func took(j Job) string {
	if j.CreatedAt.IsZero() || j.UpdatedAt.Before(j.CreatedAt) {
		return ""
	}
	return formatClock(j.UpdatedAt.Sub(j.CreatedAt).Seconds())
}

// deliveryShare is n as a share of the total, for the delivery table.
func deliveryShare(n, total int) string {
	if total == 0 {
		return "–"
	}
	return fmt.Sprintf("%d%%", int(math.Round(float64(n)*100/float64(total))))
}

// formatLatency renders a latency in seconds with sense of scale.
func formatLatency(sec float64) string {
	switch {
	case sec <= 0:
		return "–"
	case sec < 1:
		return fmt.Sprintf("%d ms", int(math.Round(sec*1000)))
	case sec < 60:
		return strconv.FormatFloat(math.Round(sec*10)/10, 'f', -1, 64) + " s"
	}
	return formatClock(sec)
}

// errorStatus is the small line above an error page's message ("404 · Not Found").
func errorStatus(code int) string {
	if code == 0 {
		return "Error"
	}
	if text := http.StatusText(code); text != "" {
		return strconv.Itoa(code) + " · " + text
	}
	return strconv.Itoa(code)
}

// playbackRates are the speeds the player offers, as the <select> lists them.
var playbackRates = []struct{ value, label string }{
	{"0.5", "0.5×"}, {"0.75", "0.75×"}, {"1", "1×"}, {"1.25", "1.25×"}, {"1.5", "1.5×"}, {"1.75", "1.75×"}, {"2", "2×"},
}

// shortcuts are the player's keyboard shortcuts, as the job page lists them;
// app.js binds them. Alt with a letter or comma and period: free in the
// browsers and in text boxes, so they work while editing.
var shortcuts = []struct {
	keys []string
	does string
}{
	{[]string{"Alt", "K"}, "Play or pause"},
	{[]string{"Alt", "J"}, "Back 5 seconds"},
	{[]string{"Alt", "L"}, "Forward 5 seconds"},
	{[]string{"Alt", ","}, "Slower"},
	{[]string{"Alt", "."}, "Faster"},
}

// between is the separator written before the ith item of a list: none
// before the first. (templ turns line breaks between elements into spaces,
// so a separator on a line of its own would come with one.)
func between(i int, sep string) string {
	if i == 0 {
		return ""
	}
	return sep
}
