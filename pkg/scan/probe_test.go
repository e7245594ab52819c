package scan

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/vigilsec/vigil/pkg/scan/code/dast"
)

// One weakness of one service is one finding however many of its URLs are
// probed: the first URL is the location, the others are evidence. A .env
// of a single line is found.
func TestProbeOneFindingPerServiceAndWeakness(t *testing.T) {
	mux := http.NewServeMux()
	for _, p := range []string{"/", "/shop", "/account"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>page</body></html>")
		})
	}
	mux.HandleFunc("/.env", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "SESSION_SECRET=c0ffee42deadbeef\n") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	s := scanner(t, Options{DAST: dast.Options{AllowedHosts: []string{u.Host}, RatePerSecond: 1000}})
	urls := []string{srv.URL + "/", srv.URL + "/shop", srv.URL + "/account"}
	rep, err := s.Run(context.Background(), urls, "acme")
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, f := range rep.Findings {
		per[f.CheckId]++
		switch f.CheckId {
		case dast.CheckHeaders:
			if len(f.Evidence) != len(urls)-1 {
				t.Errorf("missing headers: evidence %v, want the %d other URLs", f.Evidence, len(urls)-1)
			}
		case dast.CheckExposedFiles:
			if f.Location.Path != srv.URL+"/.env" {
				t.Errorf("exposed file at %s", f.Location.Path)
			}
		}
	}
	if per[dast.CheckHeaders] != 1 || per[dast.CheckExposedFiles] != 1 {
		t.Fatalf("findings per check %v, want one missing-headers and one exposed .env", per)
	}
}
