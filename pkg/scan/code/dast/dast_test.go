package dast

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// vulnerable is a deliberately weak web application.
func vulnerable() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		if origin := r.Header.Get("Origin"); origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		w.Header().Set("Content-Type", "text/html")
		if strings.Contains(q, "'") {
			fmt.Fprint(w, "<p>Warning: You have an error in your SQL syntax; check the manual near ''' at line 1</p>")
			return
		}
		fmt.Fprintf(w, `<html><body><form action="/login" method="post"><input type="password" name="pw"></form>Results for %s</body></html>`, q)
	})
	mux.HandleFunc("/files/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><head><title>Index of /files/</title></head><body><h1>Index of /files/</h1></body></html>")
	})
	mux.HandleFunc("/.git/HEAD", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ref: refs/heads/main\n") })
	mux.HandleFunc("/.env", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "DB_HOST=db\nDB_PASSWORD=hunter2\n") })
	return mux
}

// hardened is the same application done right.
func hardened() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=31536000")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "text/html")
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<html><body>Results for %s</body></html>", strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(r.URL.Query().Get("q")))
	})
}

func probe(t *testing.T, srv *httptest.Server, opts Options, path string) map[string]string {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	opts.AllowedHosts = []string{u.Host}
	opts.RatePerSecond = 1000
	p := New(opts)
	res, err := p.Probe(context.Background(), srv.URL+path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res {
		got[r.Check] = r.Message
	}
	return got
}

func TestVulnerableServer(t *testing.T) {
	plain := httptest.NewServer(vulnerable())
	defer plain.Close()
	got := probe(t, plain, Options{}, "/?q=shoes")
	for _, c := range []string{CheckHeaders, CheckReflectedXSS, CheckSQLError, CheckExposedFiles, CheckCORS, CheckPlainLogin} {
		if got[c] == "" {
			t.Errorf("%s not reported; got %v", c, got)
		}
	}
	if got := probe(t, plain, Options{}, "/files/a.txt"); got[CheckDirListing] == "" {
		t.Errorf("directory listing not reported: %v", got)
	}

	// TLS: a self-signed certificate, and TLS 1.0 accepted.
	tlsSrv := httptest.NewUnstartedServer(vulnerable())
	tlsSrv.TLS = &tls.Config{MinVersion: tls.VersionTLS10}
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	got = probe(t, tlsSrv, Options{}, "/")
	if !strings.Contains(got[CheckOldTLS], "TLS 1.") {
		t.Errorf("old TLS not reported: %v", got)
	}
	if got[CheckCertificate] == "" {
		t.Errorf("untrusted certificate not reported: %v", got)
	}
}

func TestHardenedServer(t *testing.T) {
	srv := httptest.NewTLSServer(hardened())
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	got := probe(t, srv, Options{RootCAs: pool}, "/?q=shoes")
	if len(got) > 0 {
		t.Fatalf("hardened server reported: %v", got)
	}
}

func TestOnlyAllowedHostsWithinBudget(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	p := New(Options{AllowedHosts: []string{"intranet.example"}})
	if _, err := p.Probe(context.Background(), srv.URL); !errors.Is(err, ErrNotAllowed) || hits != 0 {
		t.Fatalf("a host off the list was probed: %v, %d requests", err, hits)
	}
	u, _ := url.Parse(srv.URL)
	p = New(Options{AllowedHosts: []string{u.Host}, Budget: 4, RatePerSecond: 1000})
	_, err := p.Probe(context.Background(), srv.URL)
	if !errors.Is(err, ErrBudget) || p.Used() != 4 || hits != 4 {
		t.Fatalf("budget of 4: err %v, used %d, server saw %d", err, p.Used(), hits)
	}
}

func TestDotenv(t *testing.T) {
	for body, want := range map[string]bool{
		"STRIPE_KEY=sk_test_x\n":                          true, // one line is enough
		"# local settings\nexport DB_URL=postgres://db\n": true,
		"app.name = shop\n\nREDIS_HOST=cache\n":           true,
		"<!doctype html><html><body>app</body></html>":    false, // a single-page app's shell, served for any path
		"Not Found\n":               false,
		`{"error": "not found"}`:    false,
		"":                          false,
		"# nothing but a comment\n": false,
	} {
		if got := dotenv([]byte(body)); got != want {
			t.Errorf("dotenv(%q) = %v, want %v", body, got, want)
		}
	}
}
