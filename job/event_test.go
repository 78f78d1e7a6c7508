package job

import "testing"

func TestEventOf(t *testing.T) {
	queued := Job{Status: StatusQueued}
	at := func(p float64) Job { return Job{Status: StatusProcessing, Progress: p} }
	for _, tc := range []struct {
		name       string
		prev, next Job
		want       Event
	}{
		{"Completed", at(0.5), Job{Status: StatusCompleted}, EventCompleted},
		{"FailedBeforeSubmit", queued, Job{Status: StatusFailed}, EventFailed},
		{"StartedProcessing", queued, at(0), EventProgress},
		{"MoreProgress", at(0.2), at(0.4), EventProgress},
		{"SameProgress", at(0.4), at(0.4), ""},
		{"StillCompleted", Job{Status: StatusCompleted}, Job{Status: StatusCompleted}, ""},
		{"Requeued", Job{Status: StatusFailed}, queued, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := EventOf(tc.prev, tc.next)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("EventOf = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}
