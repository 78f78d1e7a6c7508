// Package metrics defines scribe's Prometheus metrics on a registry of its
// own, so tests can start many apps in one process.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector the app updates.
type Metrics struct {
	registry *prometheus.Registry

	// WebhooksReceived counts webhook deliveries by outcome: applied,
	// duplicate, rejected, ignored, error.
	WebhooksReceived *prometheus.CounterVec
	// JobsFinished counts jobs reaching a final state, by the channel that
	// brought it first (webhook, sse, poll) and status.
	JobsFinished *prometheus.CounterVec
	// Polls counts backstop polls by outcome.
	Polls *prometheus.CounterVec
	// Submits counts submissions to the upstream by outcome: ok, retry, rejected.
	Submits *prometheus.CounterVec
	// BrowserStreams is the number of open browser event streams.
	BrowserStreams prometheus.Gauge
	// UpstreamStreams is the number of open upstream event subscriptions.
	UpstreamStreams prometheus.Gauge
}

// New creates the collectors and registers them with Go and process metrics.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		WebhooksReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scribe_webhooks_received_total", Help: "Webhook deliveries received, by outcome.",
		}, []string{"outcome"}),
		JobsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scribe_jobs_finished_total", Help: "Jobs that reached a final state, by first channel and status.",
		}, []string{"via", "status"}),
		Polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scribe_backstop_polls_total", Help: "Backstop status polls, by outcome.",
		}, []string{"outcome"}),
		Submits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scribe_upstream_submits_total", Help: "Submissions to the upstream, by outcome.",
		}, []string{"outcome"}),
		BrowserStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scribe_browser_streams", Help: "Open browser event streams.",
		}),
		UpstreamStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scribe_upstream_streams", Help: "Open upstream event subscriptions.",
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.WebhooksReceived, m.JobsFinished, m.Polls, m.Submits, m.BrowserStreams, m.UpstreamStreams,
	)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
