package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// jobEvent is the part of an `event: job` the bench reads.
type jobEvent struct {
	ID       string `json:"id"`
	Filename string `json:"filename"`
	Status   string `json:"status"`
	Seq      string `json:"-"` // the SSE id, to resume from
}

// openStream opens a browser event stream at url and returns once its
// headers are in; each job event is passed to onJob from a goroutine
// that ends when ctx does or the stream closes.
func openStream(ctx context.Context, c *http.Client, url, lastEventID string, onJob func(jobEvent)) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("stream %s: status %d", url, resp.StatusCode)
	}
	go func() {
		defer resp.Body.Close()
		r := bufio.NewReaderSize(resp.Body, 4096)
		event, id := "", ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case strings.HasPrefix(line, "id:"):
				id = strings.TrimSpace(line[len("id:"):])
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:") && event == "job":
				var j jobEvent
				if json.Unmarshal([]byte(strings.TrimSpace(line[len("data:"):])), &j) == nil {
					j.Seq = id
					onJob(j)
				}
			case line == "":
				event, id = "", ""
			}
		}
	}()
	return nil
}
