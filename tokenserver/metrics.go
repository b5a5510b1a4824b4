package tokenserver

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series of a token server, all named
// regauth_*. A nil *Metrics records nothing.
type Metrics struct {
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	passwordChecks *prometheus.CounterVec
	passwordTime   prometheus.Histogram
	refreshTokens  *prometheus.CounterVec
	storeErrors    prometheus.Counter

	// Reloads counts reloads of watched files by what and result; the
	// command that watches the files records them.
	Reloads *prometheus.CounterVec
	certs   *certExpiry
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regauth_token_requests_total",
			Help: "Token requests by outcome (granted or an OAuth 2 error code) and grant type.",
		}, []string{"outcome", "grant"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "regauth_token_request_duration_seconds",
			Help:    "Time to answer a token request, by grant type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"grant"}),
		passwordChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regauth_password_checks_total",
			Help: "Password checks by result: ok, bad or error.",
		}, []string{"result"}),
		passwordTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "regauth_password_check_duration_seconds",
			Help:    "Time of a password check, bcrypt included.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		refreshTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regauth_refresh_tokens_total",
			Help: "Refresh tokens issued, accepted and refused.",
		}, []string{"event"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "regauth_store_errors_total",
			Help: "Requests that failed because the account or token store could not answer.",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regauth_reloads_total",
			Help: "Reloads of watched files by what was reloaded and result (ok or failed).",
		}, []string{"what", "result"}),
		certs: &certExpiry{
			desc: prometheus.NewDesc("regauth_certificate_days_left",
				"Days until a certificate in use expires, by certificate.", []string{"certificate"}, nil),
			notAfter: map[string]time.Time{},
		},
	}
	reg.MustRegister(m.requests, m.latency, m.passwordChecks, m.passwordTime,
		m.refreshTokens, m.storeErrors, m.Reloads, m.certs)
	return m
}

// SetCertificateExpiry records when the certificate in use as name
// expires. The days left are computed at each scrape, so an alert on them
// fires in time even if nothing reloads.
func (m *Metrics) SetCertificateExpiry(name string, notAfter time.Time) {
	m.certs.mu.Lock()
	defer m.certs.mu.Unlock()
	m.certs.notAfter[name] = notAfter
}

// certExpiry is a collector of the days left of each certificate.
type certExpiry struct {
	desc     *prometheus.Desc
	mu       sync.Mutex
	notAfter map[string]time.Time
}

func (c *certExpiry) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certExpiry) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, t := range c.notAfter {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue,
			time.Until(t).Hours()/24, name)
	}
}

func (m *Metrics) observeRequest(ev *auditEvent) {
	if m == nil {
		return
	}
	grant := ev.grant // only values request.go sets, never client text
	if grant == "" {
		grant = "basic"
		if ev.method != "POST" && ev.account == "" {
			grant = "anonymous"
		}
	}
	m.requests.WithLabelValues(ev.outcome, grant).Inc()
	m.latency.WithLabelValues(grant).Observe(ev.duration.Seconds())
	if ev.status == 503 {
		m.storeErrors.Inc()
	}
}

func (m *Metrics) observePassword(result string, seconds float64) {
	if m == nil {
		return
	}
	m.passwordChecks.WithLabelValues(result).Inc()
	m.passwordTime.Observe(seconds)
}

func (m *Metrics) observeRefresh(event string) {
	if m == nil {
		return
	}
	m.refreshTokens.WithLabelValues(event).Inc()
}
