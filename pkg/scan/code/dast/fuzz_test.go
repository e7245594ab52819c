package dast

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzProbe serves arbitrary headers and bodies to the prober: whatever a
// probed service answers, the probe ends within its budget without a crash.
func FuzzProbe(f *testing.F) {
	f.Add("Content-Security-Policy: default-src 'self'\nX-Frame-Options: DENY", []byte("<form action=\"http://x\"><input type=password></form>"), 200)
	f.Add("Access-Control-Allow-Origin: *\nAccess-Control-Allow-Credentials: true", []byte("You have an error in your SQL syntax"), 500)
	f.Add("Location: /\x00", []byte("<title>Index of /</title>"), 302)
	f.Fuzz(func(t *testing.T, headers string, body []byte, status int) {
		if status < 100 || status > 999 {
			status = 200
		}
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, line := range strings.Split(headers, "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					w.Header().Add(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
			w.WriteHeader(status)
			w.Write(body)
		})
		// The service answers in process, not over a socket: every input
		// costs the same, and thousands of them leave no ports behind.
		p := New(Options{AllowedHosts: []string{"service.test"}, RatePerSecond: 10000, Budget: 20})
		p.client.Transport = inProcess{handler}
		if _, err := p.Probe(context.Background(), "http://service.test/?q=1"); err != nil {
			return
		}
		if p.Used() > 20 {
			t.Fatalf("probe used %d requests over its budget of 20", p.Used())
		}
	})
}

// inProcess answers requests by calling a handler directly.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	res := rec.Result()
	res.Request = r
	return res, nil
}
