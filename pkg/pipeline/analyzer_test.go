package pipeline

import "testing"

func TestDigestNamesEveryAnalyzerVersion(t *testing.T) {
	a := Analyzer{Name: "kubernetes", Version: 1, Reads: []string{File}}
	b := Analyzer{Name: "secrets", Version: 3, Reads: []string{File}}
	base := Digest([]Analyzer{a, b}, "checks1")
	if Digest([]Analyzer{b, a}, "checks1") != base {
		t.Fatal("the digest depends on the order analyzers are listed in")
	}
	b2 := b
	b2.Version++
	for name, d := range map[string]string{
		"an analyzer upgraded": Digest([]Analyzer{a, b2}, "checks1"),
		"an analyzer removed":  Digest([]Analyzer{a}, "checks1"),
		"the checks changed":   Digest([]Analyzer{a, b}, "checks2"),
	} {
		if d == base {
			t.Errorf("%s: digest unchanged", name)
		}
	}
}

func TestNeedNames(t *testing.T) {
	if got := (NeedNetwork | NeedVulnData).String(); got != "network, vulnerability data" {
		t.Fatalf("got %q", got)
	}
	if got := Need(0).String(); got != "none" {
		t.Fatalf("got %q", got)
	}
}
